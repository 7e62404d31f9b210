/* SPDX-License-Identifier: Apache-2.0 */
/* `crac image info DIR [--json]` and `crac image verify DIR`. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include "cli/cli.h"
#include "cli/util.h"
#include "image/image.h"
#include "restore/restore.h"
#include "restore/trust.h"

static const char usage[] =
    "usage: crac image info DIR [--json]\n"
    "       crac image verify DIR [--trust-key PUB]\n"
    "       crac image keygen KEY\n"
    "       crac image sign --key KEY DIR\n"
    "\n"
    "info    what the image holds: the process it was taken from, the host it\n"
    "        needs (kernel, CPU), its memory regions and the files they map,\n"
    "        how much page data it stores, and its descriptors (kind, number,\n"
    "        flags, what each is).  --json for programs.\n"
    "verify  checks everything a restore checks, without restoring: the\n"
    "        checksums of the metadata and of all page data, the meaning of\n"
    "        every field (regions, runs, memory layout, threads, handlers,\n"
    "        limits, code against its ELF files), that every mapped file and\n"
    "        every file behind a saved descriptor is unchanged, and that this\n"
    "        machine can run the image.\n"
    "        Exit 0 when the image would restore here, 1 with the reasons if not.\n";

static void prot_str(uint32_t prot, char out[4])
{
    out[0] = prot & PROT_READ ? 'r' : '-';
    out[1] = prot & PROT_WRITE ? 'w' : '-';
    out[2] = prot & PROT_EXEC ? 'x' : '-';
    out[3] = 0;
}

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

/* The NUL-separated strings that start with `prefix`, without it, as a
 * JSON array. */
static void json_list(const char *buf, size_t len, const char *prefix)
{
    size_t plen = strlen(prefix), n = 0;
    putchar('[');
    for (size_t i = 0; i < len; i += strlen(buf + i) + 1)
        if (!strncmp(buf + i, prefix, plen)) {
            if (n++)
                putchar(',');
            json_str(buf + i + plen);
        }
    putchar(']');
}

/* "O_RDONLY|O_NONBLOCK, close-on-exec" */
static void fd_flags(const struct crac_img_fd *f, char *buf, size_t size)
{
    int acc = (int)f->flags & O_ACCMODE;
    snprintf(buf, size, "%s%s%s%s", acc == O_RDONLY ? "O_RDONLY" : acc == O_WRONLY ? "O_WRONLY" : "O_RDWR",
             f->flags & O_NONBLOCK ? "|O_NONBLOCK" : "", f->flags & O_APPEND ? "|O_APPEND" : "",
             f->cloexec ? ", close-on-exec" : "");
}

static void fds_text(const struct crac_img *img)
{
    char what[512], flags[64];
    if (img->nfds)
        printf("descriptors %zu\n", img->nfds);
    for (size_t i = 0; i < img->nfds; i++) {
        const struct crac_img_fd *f = &img->fds[i];
        crac__img_fd_describe(img, f, what, sizeof(what));
        fd_flags(f, flags, sizeof(flags));
        if (f->same_as >= 0)
            printf("  fd %-5d same open file as fd %d (%s)\n", f->fd, f->same_as, flags);
        else if (f->kind == CRAC_FDK_FILE) /* its flags are in what */
            printf("  fd %-5d %s%s\n", f->fd, what, f->cloexec ? ", close-on-exec" : "");
        else
            printf("  fd %-5d %s (%s)\n", f->fd, what, flags);
    }
}

static void fds_json(const struct crac_img *img)
{
    char what[512];
    printf(",\"fds\":[");
    for (size_t i = 0; i < img->nfds; i++) {
        const struct crac_img_fd *f = &img->fds[i];
        crac__img_fd_describe(img, f, what, sizeof(what));
        printf("%s{\"fd\":%d,\"kind\":", i ? "," : "", f->fd);
        json_str(crac__img_fd_kind_name(crac__img_fd_object(img, f)->kind));
        printf(",\"same_as\":%d,\"flags\":%u,\"cloexec\":%s,\"details\":", f->same_as, f->flags,
               f->cloexec ? "true" : "false");
        json_str(what);
        putchar('}');
    }
    putchar(']');
}

static void info_text(const struct crac_img *img)
{
    const struct crac_img_proc *p = img->proc;
    time_t t = (time_t)(img->hdr->created_ns / 1000000000ULL);
    char when[64], prot[4];
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime(&t));
    printf("image       %s (format v%u, taken %s)\n", img->dir, img->hdr->version, when);
    printf("program     %s (pid %d, comm '%s', %u thread%s)\n",
           crac__img_str(img, img->files[p->exe_file].path), p->pid, p->comm, p->nthreads,
           p->nthreads == 1 ? "" : "s");
    printf("host        kernel %s, vDSO %016llx, XCR0 %#llx\n", p->kernel_release,
           (unsigned long long)p->vdso.vdso_hash, (unsigned long long)p->cpu.xcr0);
    printf("page data   %llu pages, %.1f MiB\n", (unsigned long long)p->pages_total,
           img->hdr->pages_size / 1048576.0);
    printf("regions     %zu, files %zu\n", img->nregions, img->nfiles);
    for (size_t i = 0; i < img->nregions; i++) {
        const struct crac_img_region *r = &img->regions[i];
        prot_str(r->prot, prot);
        printf("  %012llx-%012llx %s %-11s %8llu KiB saved  %s\n", (unsigned long long)r->start,
               (unsigned long long)r->end, prot, crac__region_kind_name(r->kind),
               (unsigned long long)r->pages_saved * 4, crac__img_str(img, r->name));
    }
    for (size_t i = 0; i < img->nthreads; i++)
        printf("thread      %d '%s'%s%s\n", img->threads[i].tid, img->threads[i].comm,
               i == 0 ? " (leader)" : "",
               img->threads[i].flags & CRAC_THR_CHECKPOINTER ? " (checkpointed)" : "");
    fds_text(img);
    for (size_t i = 0; i < img->labels_len; i += strlen(img->labels + i) + 1)
        printf("label       %s\n", img->labels + i);
    for (size_t i = 0; i < img->notes_len; i += strlen(img->notes + i) + 1) {
        const char *n = img->notes + i;
        if (!strncmp(n, "resource=", 9))
            printf("notified    %s\n", n + 9);
        else if (!strncmp(n, "policy=", 7))
            printf("policy      %s\n", n + 7);
    }
}

static void info_json(const struct crac_img *img)
{
    const struct crac_img_proc *p = img->proc;
    char prot[4];
    printf("{\"format\":%u,\"created_ns\":%llu,\"pid\":%d,\"comm\":", img->hdr->version,
           (unsigned long long)img->hdr->created_ns, p->pid);
    json_str(p->comm);
    printf(",\"exe\":");
    json_str(crac__img_str(img, img->files[p->exe_file].path));
    printf(",\"threads\":%u,\"kernel\":", p->nthreads);
    json_str(p->kernel_release);
    printf(",\"pages\":%llu,\"page_bytes\":%llu,\"regions\":[", (unsigned long long)p->pages_total,
           (unsigned long long)img->hdr->pages_size);
    for (size_t i = 0; i < img->nregions; i++) {
        const struct crac_img_region *r = &img->regions[i];
        prot_str(r->prot, prot);
        printf("%s{\"start\":%llu,\"end\":%llu,\"prot\":\"%s\",\"kind\":\"%s\",\"pages_saved\":%llu,"
               "\"name\":", i ? "," : "", (unsigned long long)r->start, (unsigned long long)r->end,
               prot, crac__region_kind_name(r->kind), (unsigned long long)r->pages_saved);
        json_str(crac__img_str(img, r->name));
        putchar('}');
    }
    printf("],\"files\":[");
    for (size_t i = 0; i < img->nfiles; i++) {
        printf("%s{\"path\":", i ? "," : "");
        json_str(crac__img_str(img, img->files[i].path));
        printf(",\"size\":%llu}", (unsigned long long)img->files[i].size);
    }
    printf("],\"threads\":[");
    for (size_t i = 0; i < img->nthreads; i++) {
        printf("%s{\"tid\":%d,\"name\":", i ? "," : "", img->threads[i].tid);
        json_str(img->threads[i].comm);
        printf(",\"checkpointer\":%s}", img->threads[i].flags & CRAC_THR_CHECKPOINTER ? "true" : "false");
    }
    printf("],\"labels\":");
    json_list(img->labels, img->labels_len, "");
    printf(",\"resources_notified\":");
    json_list(img->notes, img->notes_len, "resource=");
    printf(",\"policy_actions\":");
    json_list(img->notes, img->notes_len, "policy=");
    fds_json(img);
    printf("}\n");
}

struct image_args {
    const char *sub, *path, *key, *trust_key;
    int json;
};

/* Options and the one path (DIR, or KEY for keygen).  -1, or an exit status. */
static int parse(int argc, char **argv, struct image_args *a)
{
    static const char *subs[] = {"info", "verify", "keygen", "sign"};
    char cmd[32];
    if (argc < 2 || crac__is_help(argv[1]))
        return argc < 2 ? crac__usage_error("image", "expected info, verify, keygen or sign")
                        : crac__print_usage(usage);
    a->sub = argv[1];
    size_t s = 0;
    while (s < 4 && strcmp(a->sub, subs[s]))
        s++;
    if (s == 4)
        return crac__usage_error("image", "unknown subcommand '%s'", a->sub);
    snprintf(cmd, sizeof(cmd), "image %s", a->sub);
    for (int i = 2; i < argc; i++) {
        if (crac__is_help(argv[i]))
            return crac__print_usage(usage);
        if (s == 0 && !strcmp(argv[i], "--json"))
            a->json = 1;
        else if (s == 1 && !strcmp(argv[i], "--trust-key") && i + 1 < argc)
            a->trust_key = argv[++i];
        else if (s == 3 && !strcmp(argv[i], "--key") && i + 1 < argc)
            a->key = argv[++i];
        else if (argv[i][0] == '-')
            return crac__bad_option(cmd, argv[i]);
        else if (a->path)
            return crac__usage_error(cmd, "too many arguments");
        else
            a->path = argv[i];
    }
    if (!a->path)
        return crac__usage_error(cmd, s == 2 ? "missing key file" : "missing image directory");
    if (s == 3 && !a->key)
        return crac__usage_error(cmd, "missing --key KEY");
    return -1;
}

static int verify(const struct image_args *a, struct crac_img *img, crac_error **err)
{
    uint8_t *runs = NULL;
    int rc = crac__img_verify_pages(img, err) || crac__img_check_files(img, err) ||
             crac__img_check_fd_files(img, err) || crac__img_check_host(img, err) ||
             crac__restore_validate(img, false, err) ||
             (a->trust_key && (crac__sign_verify(img, a->trust_key, &runs, err) ||
                               crac__sign_verify_pages(img, runs, err)));
    free(runs);
    if (rc)
        return crac__fail_error("image verify", *err);
    printf("%s: image verified: checksums, files and host all match%s\n", a->path,
           a->trust_key ? "; signed by the trusted key, every page as signed" : "");
    return 0;
}

int crac__cmd_image(int argc, char **argv)
{
    struct image_args a = {0};
    struct crac_img img;
    crac_error *err = NULL;
    int rc = parse(argc, argv, &a);

    if (rc >= 0)
        return rc;
    if (!strcmp(a.sub, "keygen") || !strcmp(a.sub, "sign")) {
        rc = a.sub[0] == 'k' ? crac__sign_keygen(a.path, &err) : crac__sign_image(a.path, a.key, &err);
        if (rc)
            return crac__fail_error(a.sub[0] == 'k' ? "image keygen" : "image sign", err);
        if (a.sub[0] == 'k')
            printf("secret key in %s, public key in %s.pub\n", a.path, a.path);
        else
            printf("%s: signed (%s/signature)\n", a.path, a.path);
        return 0;
    }
    if (crac__img_open(a.path, &img, &err))
        return crac__fail_error(a.sub[0] == 'i' ? "image info" : "image verify", err);
    rc = 0;
    if (!strcmp(a.sub, "info"))
        a.json ? info_json(&img) : info_text(&img);
    else
        rc = verify(&a, &img, &err);
    crac_error_free(err);
    crac__img_close(&img);
    return rc;
}
