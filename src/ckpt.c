/* ckpt.c: HDF5 checkpoints (layout in ckpt.h).
 *
 * Writing: every object goes to "<path>.tmp", which is closed, sealed,
 * fsync'ed and renamed onto path; on failure the tmp file is removed and path
 * is untouched. The HDF5 1.8 object format is used (readable by HDF5 >= 1.8).
 *
 * Sealing: the file starts with a 512-byte HDF5 user block (HDF5 and h5py skip
 * it) holding plain text:
 *   ferc-checkpoint\nsize <bytes>\ncrc32 <8 hex digits>\n
 * where crc32 is zlib's CRC-32 of bytes [512, size). Readers verify it before
 * HDF5 parses anything, because HDF5 itself crashes on some corruptions (a
 * damaged global heap, which holds the string attributes, makes H5Aread copy
 * out of bounds in 1.10.8). A file changed by other tools must be re-sealed
 * (ferc_ckpt_seal) before ferc reads it again.
 *
 * Reading: every entry point validates the file (seal, then format and
 * version attributes) before touching the network, checks every tensor's
 * presence and shape before reading any data, and turns HDF5 failures into
 * ferc_err messages naming the file, the object and HDF5's innermost reason.
 *
 * HDF5's automatic error printing is switched off in every entry point (the
 * library never prints). The serial HDF5 build is not thread-safe: call these
 * functions from one thread at a time. */
#include "ckpt.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "half.h"

#define CKPT_FORMAT "ferc-checkpoint"
#define CKPT_NAME 256        /* longest object path we build ("/optim/m/" + tensor name) */
#define CKPT_UB 512          /* user block size: HDF5 data starts here */

static const char *const ckpt_hist_columns[FERC_HIST_COLS] = {
    "epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc", "seconds"};
static const char *const ckpt_optim_names[3] = {"sgd", "adam", "adamw"};

/* ------------------------------------------------------------------ errors */

typedef struct {
    char *buf;
    size_t n;
} ckpt_reason;

static herr_t ckpt_reason_cb(unsigned i, const H5E_error2_t *err, void *data)
{
    ckpt_reason *r = data;
    (void)i;
    if (err->desc && err->desc[0])
        snprintf(r->buf, r->n, "%s", err->desc);
    else if (H5Eget_msg(err->min_num, NULL, r->buf, r->n) < 0)
        r->buf[0] = 0;
    return 1; /* the innermost (most specific) entry is enough */
}

/* Formats the message, appends HDF5's innermost reason from the current error
 * stack, and returns -1. Must be called right after the failing HDF5 call:
 * every later API call (closing ids included) clears the stack. */
static int ckpt_h5err(ferc_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int ckpt_h5err(ferc_err *e, const char *fmt, ...)
{
    char why[256] = "", what[768];
    ckpt_reason r = {why, sizeof why};
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, ckpt_reason_cb, &r);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (why[0]) return ferc_errf(e, "%s (HDF5: %s)", what, why);
    return ferc_errf(e, "%s", what);
}

static void ckpt_quiet(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

/* "[64,32,3,3]" */
static void ckpt_shape_str(char *buf, size_t n, int ndim, const hsize_t *dims)
{
    size_t k = 0;
    buf[0] = 0;
    k += (size_t)snprintf(buf + k, n - k, "[");
    for (int i = 0; i < ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%llu", i ? "," : "", (unsigned long long)dims[i]);
    if (k < n) snprintf(buf + k, n - k, "]");
}

static int ckpt_tensor_dims(const ferc_tensor *t, hsize_t *dims)
{
    for (int i = 0; i < t->ndim; i++) dims[i] = (hsize_t)t->shape[i];
    return t->ndim;
}

/* Checks the tensor table against the arenas before any I/O, so that a bad
 * table is reported instead of reading or writing out of bounds. */
static int ckpt_check_net(const char *path, const ferc_net *net, const char *doing, ferc_err *e)
{
    if (!net || net->n_tensors < 0 || (net->n_tensors > 0 && !net->tensors))
        return ferc_errf(e, "%s: cannot %s: the network has no tensor table", path, doing);
    for (int i = 0; i < net->n_tensors; i++) {
        const ferc_tensor *t = &net->tensors[i];
        const char *nm = t->name;
        size_t len = strnlen(nm, sizeof t->name);
        if (len == 0 || len == sizeof t->name)
            return ferc_errf(e, "%s: cannot %s: tensor %d has an empty or unterminated name", path, doing, i);
        /* components must be non-empty and not "." or ".." (HDF5 would alias them) */
        for (const char *c = nm; *c;) {
            const char *s = strchr(c, '/');
            size_t cl = s ? (size_t)(s - c) : strlen(c);
            if (cl == 0 || (cl == 1 && c[0] == '.') || (cl == 2 && c[0] == '.' && c[1] == '.'))
                return ferc_errf(e, "%s: cannot %s: bad tensor name \"%s\"", path, doing, nm);
            c = s ? s + 1 : c + cl;
            if (s && !*c) return ferc_errf(e, "%s: cannot %s: bad tensor name \"%s\"", path, doing, nm);
        }
        if (t->ndim < 1 || t->ndim > 4)
            return ferc_errf(e, "%s: cannot %s: tensor %s has %d dimensions", path, doing, nm, t->ndim);
        size_t n = 1;
        for (int d = 0; d < t->ndim; d++) {
            if (t->shape[d] < 0)
                return ferc_errf(e, "%s: cannot %s: tensor %s has a negative dimension", path, doing, nm);
            n *= (size_t)t->shape[d];
        }
        if (n != t->n)
            return ferc_errf(e, "%s: cannot %s: tensor %s has %zu elements, its shape says %zu", path, doing,
                             nm, t->n, n);
        size_t cap = t->is_buffer ? net->n_buffers : net->n_params;
        const float *arena = t->is_buffer ? net->buffers : net->params;
        if (t->off > cap || t->n > cap - t->off || (t->n > 0 && !arena))
            return ferc_errf(e, "%s: cannot %s: tensor %s lies outside its arena", path, doing, nm);
    }
    return 0;
}

static float *ckpt_arena(const ferc_net *net, const ferc_tensor *t)
{
    return (t->is_buffer ? net->buffers : net->params) + t->off;
}

static int ckpt_find(const ferc_net *net, const char *name, int is_buffer)
{
    for (int i = 0; i < net->n_tensors; i++)
        if (!!net->tensors[i].is_buffer == !!is_buffer && !strcmp(net->tensors[i].name, name)) return i;
    return -1;
}

/* ------------------------------------------------------------------ writing */

static hid_t ckpt_str_type(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0) return -1;
    if (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

/* File access properties: closing the file closes every object still open
 * (error paths), and file locks are used where the file system has them but
 * not required (HDF5 >= 1.10.7 would otherwise fail on NFS and the like). */
static hid_t ckpt_fapl(void)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0) return -1;
    if (H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0
#if H5_VERSION_GE(1, 10, 7)
        || H5Pset_file_locking(fapl, 1, 1) < 0
#endif
    ) {
        H5Pclose(fapl);
        return -1;
    }
    return fapl;
}

/* Writes attribute `name` on loc (object `obj`, for messages). n < 0: scalar;
 * otherwise a 1-D array of n elements. mtype/ftype < 0: a UTF-8 string type. */
static int ckpt_put_attr(const char *path, ferc_err *e, hid_t loc, const char *obj, const char *name,
                         hid_t ftype, hid_t mtype, int n, const void *buf)
{
    hsize_t dim = n < 0 ? 1 : (hsize_t)n;
    hid_t st = -1, sp = -1, a = -1;
    int rc = -1;
    if (ftype < 0) {
        if ((st = ckpt_str_type()) < 0) {
            ckpt_h5err(e, "%s: cannot make a string type", path);
            goto done;
        }
        ftype = mtype = st;
    }
    sp = n < 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dim, NULL);
    if (sp < 0) {
        ckpt_h5err(e, "%s: cannot make a dataspace for attribute %s of %s", path, name, obj);
        goto done;
    }
    if ((a = H5Acreate2(loc, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT)) < 0) {
        ckpt_h5err(e, "%s: cannot create attribute %s of %s", path, name, obj);
        goto done;
    }
    if (H5Awrite(a, mtype, buf) < 0) {
        ckpt_h5err(e, "%s: cannot write attribute %s of %s", path, name, obj);
        goto done;
    }
    rc = 0;
done:
    if (a >= 0 && H5Aclose(a) < 0 && rc == 0) rc = ckpt_h5err(e, "%s: cannot write attribute %s of %s", path, name, obj);
    if (sp >= 0) H5Sclose(sp);
    if (st >= 0) H5Tclose(st);
    return rc;
}

static int ckpt_put_str(const char *path, ferc_err *e, hid_t loc, const char *obj, const char *name, const char *s)
{
    return ckpt_put_attr(path, e, loc, obj, name, -1, -1, -1, &s);
}

static int ckpt_put_i64(const char *path, ferc_err *e, hid_t loc, const char *obj, const char *name, int64_t v)
{
    return ckpt_put_attr(path, e, loc, obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, -1, &v);
}

/* IEEE binary16, little-endian, as h5py defines it (numpy float16). */
static hid_t ckpt_f16_type(void)
{
    hid_t t = H5Tcopy(H5T_IEEE_F32LE);
    if (t < 0) return -1;
    if (H5Tset_fields(t, 15, 10, 5, 0, 10) < 0 || H5Tset_size(t, 2) < 0 || H5Tset_ebias(t, 15) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

/* Writes a float dataset `name` (absolute, intermediate groups created):
 * float32, or with half binary16 rounded to nearest (ferc_half_from_float;
 * a value beyond binary16's range or not finite is refused, naming it). */
static int ckpt_put_dset(const char *path, ferc_err *e, hid_t f, hid_t lcpl, const char *name, int ndim,
                         const hsize_t *dims, const float *data, int half)
{
    hid_t sp = -1, d = -1, ft = -1;
    uint16_t *h = NULL;
    int rc = -1;
    size_t n = 1;
    for (int i = 0; i < ndim; i++) n *= (size_t)dims[i];
    if (half) {
        if (!(h = malloc((n ? n : 1) * sizeof *h))) {
            ferc_errf(e, "%s: out of memory for %s", path, name);
            goto done;
        }
        for (size_t i = 0; i < n; i++) {
            if (!(data[i] >= -FERC_HALF_MAX && data[i] <= FERC_HALF_MAX)) {
                ferc_errf(e, "%s: cannot store %s in float16: element %zu is %g (float16 holds at most %g)", path,
                          name, i, (double)data[i], (double)FERC_HALF_MAX);
                goto done;
            }
            h[i] = ferc_half_from_float(data[i]);
        }
        if ((ft = ckpt_f16_type()) < 0) {
            ckpt_h5err(e, "%s: cannot make the float16 type for %s", path, name);
            goto done;
        }
    }
    if ((sp = H5Screate_simple(ndim, dims, NULL)) < 0) {
        ckpt_h5err(e, "%s: cannot make a dataspace for %s", path, name);
        goto done;
    }
    if ((d = H5Dcreate2(f, name, half ? ft : H5T_IEEE_F32LE, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT)) < 0) {
        ckpt_h5err(e, "%s: cannot create %s", path, name);
        goto done;
    }
    /* the float16 bits go out as they are (memory type = file type) */
    if (n > 0 && (half ? H5Dwrite(d, ft, H5S_ALL, H5S_ALL, H5P_DEFAULT, h)
                       : H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data)) < 0) {
        ckpt_h5err(e, "%s: cannot write %s", path, name);
        goto done;
    }
    rc = 0;
done:
    if (d >= 0 && H5Dclose(d) < 0 && rc == 0) rc = ckpt_h5err(e, "%s: cannot write %s", path, name);
    if (sp >= 0) H5Sclose(sp);
    if (ft >= 0) H5Tclose(ft);
    free(h);
    return rc;
}

static int ckpt_put_group(const char *path, ferc_err *e, hid_t f, hid_t lcpl, const char *name, hid_t *out)
{
    hid_t g = H5Gcreate2(f, name, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) return ckpt_h5err(e, "%s: cannot create group %s", path, name);
    if (out)
        *out = g;
    else if (H5Gclose(g) < 0)
        return ckpt_h5err(e, "%s: cannot create group %s", path, name);
    return 0;
}

static int ckpt_write_root(const char *path, ferc_err *e, hid_t root, const ferc_net *net, const ferc_config *cfg,
                           const ferc_train_state *st, int export_only)
{
    const char *classes[FERC_MAX_CLASSES];
    int nc = cfg->n_classes < 0 ? 0 : cfg->n_classes > FERC_MAX_CLASSES ? FERC_MAX_CLASSES : cfg->n_classes;
    for (int i = 0; i < nc; i++) classes[i] = cfg->classes[i];
    char created[32] = "";
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm)) strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    uint64_t seed = st ? st->seed : cfg->seed;
    if (ckpt_put_str(path, e, root, "/", "format", CKPT_FORMAT) < 0 ||
        ckpt_put_i64(path, e, root, "/", "version", FERC_CKPT_VERSION) < 0 ||
        ckpt_put_str(path, e, root, "/", "kind", export_only ? "export" : "train") < 0 ||
        ckpt_put_str(path, e, root, "/", "config", cfg->text) < 0 ||
        ckpt_put_attr(path, e, root, "/", "classes", -1, -1, nc, classes) < 0 ||
        ckpt_put_i64(path, e, root, "/", "input_size", cfg->input_size) < 0 ||
        ckpt_put_i64(path, e, root, "/", "channels", net->arch.in_c) < 0 ||
        ckpt_put_attr(path, e, root, "/", "mean", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, -1, &cfg->mean) < 0 ||
        ckpt_put_attr(path, e, root, "/", "std", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, -1, &cfg->std) < 0 ||
        ckpt_put_i64(path, e, root, "/", "fold", st ? st->fold : cfg->fold) < 0 ||
        ckpt_put_i64(path, e, root, "/", "folds", st ? st->folds : cfg->folds) < 0 ||
        ckpt_put_attr(path, e, root, "/", "seed", H5T_STD_U64LE, H5T_NATIVE_UINT64, -1, &seed) < 0 ||
        ckpt_put_str(path, e, root, "/", "created", created) < 0)
        return -1;
    if (st && (ckpt_put_i64(path, e, root, "/", "epoch", st->epoch) < 0 ||
               ckpt_put_i64(path, e, root, "/", "step", st->step) < 0 ||
               ckpt_put_i64(path, e, root, "/", "global_step", st->global_step) < 0))
        return -1;
    if (st && st->step > 0 &&
        (ckpt_put_attr(path, e, root, "/", "epoch_loss_sum", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, -1, &st->ep_loss_sum) < 0 ||
         ckpt_put_i64(path, e, root, "/", "epoch_correct", st->ep_correct) < 0 ||
         ckpt_put_i64(path, e, root, "/", "epoch_seen", st->ep_seen) < 0 ||
         ckpt_put_attr(path, e, root, "/", "epoch_seconds", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, -1, &st->ep_seconds) < 0))
        return -1;
    return 0;
}

static int ckpt_write_tensors(const char *path, ferc_err *e, hid_t f, hid_t lcpl, const ferc_net *net,
                              const ferc_optim *opt, int export_only, int half)
{
    char name[CKPT_NAME];
    hsize_t dims[4];
    if (ckpt_put_group(path, e, f, lcpl, "/params", NULL) < 0 || ckpt_put_group(path, e, f, lcpl, "/buffers", NULL) < 0)
        return -1;
    for (int i = 0; i < net->n_tensors; i++) {
        const ferc_tensor *t = &net->tensors[i];
        snprintf(name, sizeof name, "/%s/%s", t->is_buffer ? "buffers" : "params", t->name);
        int nd = ckpt_tensor_dims(t, dims);
        if (ckpt_put_dset(path, e, f, lcpl, name, nd, dims, ckpt_arena(net, t), half) < 0) return -1;
    }
    if (export_only || !opt) return 0;
    hid_t g = -1;
    if (ckpt_put_group(path, e, f, lcpl, "/optim", &g) < 0) return -1;
    int rc = ckpt_put_i64(path, e, g, "/optim", "kind", (int64_t)opt->kind);
    if (rc == 0) rc = ckpt_put_i64(path, e, g, "/optim", "t", opt->t);
    if (rc == 0 && opt->avg) rc = ckpt_put_i64(path, e, g, "/optim", "avg_n", opt->avg_n);
    H5Gclose(g);
    if (rc < 0) return -1;
    static const char *const arenas[3] = {"m", "v", "avg"};
    for (int s = 0; s < 3; s++) {
        const float *arena = s == 2 ? opt->avg : s ? opt->v : opt->m;
        if (!arena) continue;
        snprintf(name, sizeof name, "/optim/%s", arenas[s]);
        if (ckpt_put_group(path, e, f, lcpl, name, NULL) < 0) return -1;
        for (int i = 0; i < net->n_tensors; i++) {
            const ferc_tensor *t = &net->tensors[i];
            if (t->is_buffer) continue;
            snprintf(name, sizeof name, "/optim/%s/%s", arenas[s], t->name);
            int nd = ckpt_tensor_dims(t, dims);
            if (ckpt_put_dset(path, e, f, lcpl, name, nd, dims, arena + t->off, 0) < 0) return -1;
        }
    }
    return 0;
}

static int ckpt_write_history(const char *path, ferc_err *e, hid_t f, hid_t lcpl, const ferc_train_state *st)
{
    hsize_t dims[2] = {(hsize_t)(st->n_hist > 0 ? st->n_hist : 0), FERC_HIST_COLS};
    if (ckpt_put_dset(path, e, f, lcpl, "/history", 2, dims, st->hist, 0) < 0) return -1;
    hid_t d = H5Dopen2(f, "/history", H5P_DEFAULT);
    if (d < 0) return ckpt_h5err(e, "%s: cannot open /history", path);
    int rc = ckpt_put_attr(path, e, d, "/history", "columns", -1, -1, FERC_HIST_COLS, ckpt_hist_columns);
    H5Dclose(d);
    return rc;
}

static int ckpt_write_distill(const char *path, ferc_err *e, hid_t f, hid_t lcpl, const ferc_train_state *st)
{
    hsize_t dims[2] = {(hsize_t)st->kd_n, (hsize_t)st->kd_k};
    if (ckpt_put_dset(path, e, f, lcpl, "/distill/targets", 2, dims, st->kd, 0) < 0) return -1;
    hid_t d = H5Dopen2(f, "/distill/targets", H5P_DEFAULT);
    if (d < 0) return ckpt_h5err(e, "%s: cannot open /distill/targets", path);
    const char *teachers = st->kd_teachers ? st->kd_teachers : "";
    int rc = ckpt_put_str(path, e, d, "/distill/targets", "teachers", teachers);
    if (rc == 0)
        rc = ckpt_put_attr(path, e, d, "/distill/targets", "temperature", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, -1,
                           &st->kd_temp);
    H5Dclose(d);
    return rc;
}

/* Writes the whole checkpoint to tmp (messages name the user's path). */
static int ckpt_write_file(const char *tmp, const char *path, const ferc_net *net, const ferc_config *cfg,
                           const ferc_optim *opt, const ferc_train_state *st, int flags, ferc_err *e)
{
    const int export_only = flags & FERC_CKPT_EXPORT, half = (flags & FERC_CKPT_HALF) != 0;
    hid_t fapl = -1, fcpl = -1, lcpl = -1, f = -1, root = -1;
    int rc = -1;
    if ((fapl = ckpt_fapl()) < 0 || (fcpl = H5Pcreate(H5P_FILE_CREATE)) < 0 ||
        (lcpl = H5Pcreate(H5P_LINK_CREATE)) < 0 || H5Pset_userblock(fcpl, CKPT_UB) < 0 ||
        H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18) < 0 ||
        H5Pset_create_intermediate_group(lcpl, 1) < 0) {
        ckpt_h5err(e, "%s: cannot set up HDF5 property lists", path);
        goto done;
    }
    if ((f = H5Fcreate(tmp, H5F_ACC_TRUNC, fcpl, fapl)) < 0) {
        ckpt_h5err(e, "%s: cannot create %s", path, tmp);
        goto done;
    }
    if ((root = H5Gopen2(f, "/", H5P_DEFAULT)) < 0) {
        ckpt_h5err(e, "%s: cannot open the root group", path);
        goto done;
    }
    if (ckpt_write_root(path, e, root, net, cfg, st, export_only) < 0 ||
        ckpt_write_tensors(path, e, f, lcpl, net, opt, export_only, half) < 0 ||
        (st && ckpt_write_history(path, e, f, lcpl, st) < 0) ||
        (st && st->kd && !export_only && ckpt_write_distill(path, e, f, lcpl, st) < 0))
        goto done;
    rc = 0;
done:
    if (root >= 0) H5Gclose(root);
    if (f >= 0 && H5Fclose(f) < 0 && rc == 0) rc = ckpt_h5err(e, "%s: cannot finish writing %s", path, tmp);
    if (lcpl >= 0) H5Pclose(lcpl);
    if (fcpl >= 0) H5Pclose(fcpl);
    if (fapl >= 0) H5Pclose(fapl);
    return rc;
}

/* ------------------------------------------------------------------ sealing */

/* CRC-32 as zlib computes it (reflected 0xEDB88320, inverted in and out),
 * slice-by-8. */
typedef struct {
    uint32_t t[8][256];
} ckpt_crc;

static void ckpt_crc_init(ckpt_crc *c)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t r = i;
        for (int k = 0; k < 8; k++) r = r & 1 ? (r >> 1) ^ 0xEDB88320u : r >> 1;
        c->t[0][i] = r;
    }
    for (int i = 0; i < 256; i++)
        for (int k = 1; k < 8; k++) c->t[k][i] = (c->t[k - 1][i] >> 8) ^ c->t[0][c->t[k - 1][i] & 0xff];
}

static uint32_t ckpt_crc_update(const ckpt_crc *c, uint32_t crc, const unsigned char *p, size_t n)
{
    crc = ~crc;
    for (; n >= 8; p += 8, n -= 8) {
        uint32_t a = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        uint32_t b = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
        crc = c->t[7][a & 0xff] ^ c->t[6][(a >> 8) & 0xff] ^ c->t[5][(a >> 16) & 0xff] ^ c->t[4][a >> 24] ^
              c->t[3][b & 0xff] ^ c->t[2][(b >> 8) & 0xff] ^ c->t[1][(b >> 16) & 0xff] ^ c->t[0][b >> 24];
    }
    while (n--) crc = (crc >> 8) ^ c->t[0][(crc ^ *p++) & 0xff];
    return ~crc;
}

/* CRC-32 of bytes [CKPT_UB, size) of fd; -1 with errno on failure. */
static int ckpt_crc_fd(int fd, uint64_t size, uint32_t *out)
{
    size_t cap = 1u << 20;
    ckpt_crc *c = malloc(sizeof *c);
    unsigned char *buf = malloc(cap);
    uint32_t crc = 0;
    int rc = -1;
    if (!c || !buf) {
        errno = ENOMEM;
        goto done;
    }
    ckpt_crc_init(c);
    for (uint64_t off = CKPT_UB; off < size;) {
        size_t want = size - off < cap ? (size_t)(size - off) : cap;
        ssize_t got = pread(fd, buf, want, (off_t)off);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
            if (got == 0) errno = EIO; /* shorter than it was */
            goto done;
        }
        crc = ckpt_crc_update(c, crc, buf, (size_t)got);
        off += (uint64_t)got;
    }
    *out = crc;
    rc = 0;
done:
    free(buf);
    free(c);
    return rc;
}

/* Writes the user block (size and CRC) of the closed HDF5 file p, then
 * fsyncs it. Messages name `path`. */
static int ckpt_seal_file(const char *p, const char *path, ferc_err *e)
{
    char ub[CKPT_UB];
    struct stat sb;
    uint32_t crc = 0;
    int rc = -1, fd = open(p, O_RDWR);
    if (fd < 0) return ferc_errf(e, "%s: cannot open %s: %s", path, p, strerror(errno));
    if (fstat(fd, &sb) != 0 || ckpt_crc_fd(fd, (uint64_t)sb.st_size, &crc) != 0) {
        ferc_errf(e, "%s: cannot read %s back: %s", path, p, strerror(errno));
        goto done;
    }
    memset(ub, 0, sizeof ub);
    snprintf(ub, sizeof ub, CKPT_FORMAT "\nsize %llu\ncrc32 %08x\n", (unsigned long long)sb.st_size, (unsigned)crc);
    if (pwrite(fd, ub, sizeof ub, 0) != (ssize_t)sizeof ub || fsync(fd) != 0) {
        ferc_errf(e, "%s: cannot write %s: %s", path, p, strerror(errno));
        goto done;
    }
    rc = 0;
done:
    if (close(fd) != 0 && rc == 0) rc = ferc_errf(e, "%s: cannot write %s: %s", path, p, strerror(errno));
    return rc;
}

/* Checks the seal of path (size as stat saw it). A file that does not start
 * with the ferc user block is left to the HDF5 checks (not ferc's, or written
 * by other tools). */
static int ckpt_verify(const char *path, uint64_t size, ferc_err *e)
{
    char ub[CKPT_UB + 1];
    const size_t ml = sizeof CKPT_FORMAT; /* magic with its '\n' */
    unsigned long long want = 0;
    unsigned crc_want = 0;
    uint32_t crc = 0;
    int rc = -1, fd = open(path, O_RDONLY);
    if (fd < 0) return ferc_errf(e, "%s: %s", path, strerror(errno));
    ssize_t n = pread(fd, ub, CKPT_UB, 0);
    if (n < 0) {
        ferc_errf(e, "%s: %s", path, strerror(errno));
        goto done;
    }
    ub[n] = 0;
    if (n == 0) {
        ferc_errf(e, "%s: not a ferc checkpoint (empty file)", path);
        goto done;
    }
    if (memcmp(ub, CKPT_FORMAT "\n", (size_t)n < ml ? (size_t)n : ml) != 0) {
        rc = 0;
        goto done;
    }
    if (n < CKPT_UB || sscanf(ub + ml, "size %llu\ncrc32 %x", &want, &crc_want) != 2) {
        ferc_errf(e, "%s: truncated or corrupt: the ferc header is incomplete", path);
        goto done;
    }
    if (want != size) {
        ferc_errf(e, "%s: truncated or corrupt: %llu bytes, ferc wrote %llu", path, (unsigned long long)size, want);
        goto done;
    }
    if (ckpt_crc_fd(fd, size, &crc) != 0) {
        ferc_errf(e, "%s: %s", path, strerror(errno));
        goto done;
    }
    if (crc != crc_want) {
        ferc_errf(e, "%s: checksum mismatch: the file is corrupt, or was changed after ferc wrote it", path);
        goto done;
    }
    rc = 0;
done:
    close(fd);
    return rc;
}

int ferc_ckpt_seal(const char *path, ferc_err *e)
{
    unsigned char head[CKPT_UB + 8];
    if (!path || !path[0]) return ferc_errf(e, "checkpoint: empty path");
    int fd = open(path, O_RDONLY);
    if (fd < 0) return ferc_errf(e, "%s: %s", path, strerror(errno));
    ssize_t n = pread(fd, head, sizeof head, 0);
    close(fd);
    if (n != (ssize_t)sizeof head || memcmp(head, CKPT_FORMAT "\n", sizeof CKPT_FORMAT) != 0 ||
        memcmp(head + CKPT_UB, "\211HDF\r\n\032\n", 8) != 0)
        return ferc_errf(e, "%s: not a ferc checkpoint (no ferc header), cannot seal it", path);
    return ckpt_seal_file(path, path, e);
}

int ferc_ckpt_save(const char *path, const ferc_net *net, const ferc_config *cfg, const ferc_optim *opt,
                   const ferc_train_state *st, int flags, ferc_err *e)
{
    ckpt_quiet();
    const int export_only = flags & FERC_CKPT_EXPORT;
    if (!path || !path[0]) return ferc_errf(e, "checkpoint: empty path");
    if ((flags & FERC_CKPT_HALF) && !export_only)
        return ferc_errf(e, "%s: cannot save: float16 is for inference exports only (training resumes exactly "
                            "from float32)", path);
    if (ckpt_check_net(path, net, "save", e) < 0) return -1;
    if (!cfg || !cfg->text) return ferc_errf(e, "%s: cannot save: the configuration has no text", path);
    if (!export_only && opt) {
        if ((int)opt->kind < 0 || (int)opt->kind > 2)
            return ferc_errf(e, "%s: cannot save: unknown optimiser kind %d", path, (int)opt->kind);
        if (opt->n != net->n_params || (net->n_params > 0 && !opt->m) ||
            (opt->kind != FERC_SGD && net->n_params > 0 && !opt->v))
            return ferc_errf(e, "%s: cannot save: optimiser state (%zu values) does not match the %zu parameters",
                             path, opt->n, net->n_params);
    }
    if (st && st->n_hist > 0 && !st->hist)
        return ferc_errf(e, "%s: cannot save: history has %d rows but no data", path, st->n_hist);
    size_t len = strlen(path);
    char *tmp = malloc(len + 5);
    if (!tmp) return ferc_errf(e, "%s: out of memory", path);
    memcpy(tmp, path, len);
    memcpy(tmp + len, ".tmp", 5);
    /* create it first for a plain errno message (missing directory, permissions) */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0) {
        ferc_errf(e, "%s: cannot create %s: %s", path, tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    close(fd);
    int rc = ckpt_write_file(tmp, path, net, cfg, opt, st, flags, e);
    if (rc == 0) rc = ckpt_seal_file(tmp, path, e);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = ferc_errf(e, "%s: cannot rename %s onto it: %s", path, tmp, strerror(errno));
    if (rc < 0) {
        unlink(tmp);
    } else {
        /* make the rename durable; best effort, the new file is already in place */
        char *slash = strrchr(tmp, '/');
        if (slash) slash[slash == tmp] = 0;
        int dfd = open(slash ? tmp : ".", O_RDONLY | O_DIRECTORY);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    free(tmp);
    return rc;
}

/* ------------------------------------------------------------------ reading */

/* Reads scalar attribute `name` of loc. mtype >= 0: a number converted to
 * mtype (e.g. H5T_NATIVE_INT64) into *v; mtype < 0: a string (variable-length
 * or fixed) into a malloc'ed *(char **)v. */
static int ckpt_get_attr(const char *path, ferc_err *e, hid_t loc, const char *obj, const char *name, hid_t mtype,
                         void *v)
{
    hid_t a = -1, ft = -1, st = -1, sp = -1;
    char *s = NULL;
    int rc = -1;
    if (mtype < 0) *(char **)v = NULL;
    if ((a = H5Aopen(loc, name, H5P_DEFAULT)) < 0) {
        ckpt_h5err(e, "%s: cannot open attribute %s of %s", path, name, obj);
        goto done;
    }
    if ((ft = H5Aget_type(a)) < 0 || (sp = H5Aget_space(a)) < 0) {
        ckpt_h5err(e, "%s: cannot read attribute %s of %s", path, name, obj);
        goto done;
    }
    H5T_class_t want = mtype < 0 ? H5T_STRING : H5Tget_class(mtype);
    if (H5Tget_class(ft) != want || H5Sget_simple_extent_npoints(sp) != 1) {
        ferc_errf(e, "%s: attribute %s of %s is not a single %s", path, name, obj,
                  want == H5T_STRING ? "string" : want == H5T_FLOAT ? "number" : "integer");
        goto done;
    }
    if (mtype >= 0) {
        if (H5Aread(a, mtype, v) < 0) {
            ckpt_h5err(e, "%s: cannot read attribute %s of %s", path, name, obj);
            goto done;
        }
        rc = 0;
        goto done;
    }
    htri_t vl = H5Tis_variable_str(ft);
    size_t n = vl ? 0 : H5Tget_size(ft);
    if (vl < 0 || n > (1u << 28) || (st = vl ? ckpt_str_type() : H5Tcopy(ft)) < 0 ||
        (!vl && !(s = calloc(n + 1, 1))) || H5Aread(a, st, vl ? (void *)&s : (void *)s) < 0) {
        ckpt_h5err(e, "%s: cannot read attribute %s of %s", path, name, obj);
        if (!vl) free(s);
        goto done;
    }
    if (vl) {
        char *c = strdup(s ? s : "");
        if (s) H5free_memory(s);
        s = c;
    }
    if (!s) {
        ferc_errf(e, "%s: out of memory reading attribute %s", path, name);
        goto done;
    }
    *(char **)v = s;
    rc = 0;
done:
    if (st >= 0) H5Tclose(st);
    if (sp >= 0) H5Sclose(sp);
    if (ft >= 0) H5Tclose(ft);
    if (a >= 0) H5Aclose(a);
    return rc;
}

/* 1: attribute exists, 0: not, -1: error. */
static int ckpt_has_attr(const char *path, ferc_err *e, hid_t loc, const char *obj, const char *name)
{
    htri_t r = H5Aexists(loc, name);
    if (r < 0) return ckpt_h5err(e, "%s: cannot look up attribute %s of %s", path, name, obj);
    return r > 0;
}

/* 1: the object at absolute `name` exists, 0: not, -1: error. Checks each
 * path component, as H5Lexists requires the intermediate ones to exist. */
static int ckpt_exists(const char *path, ferc_err *e, hid_t f, const char *name)
{
    char buf[CKPT_NAME];
    size_t len = strlen(name);
    if (len >= sizeof buf) return ferc_errf(e, "%s: object name %s is too long", path, name);
    memcpy(buf, name, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != 0) continue;
        char c = buf[i];
        buf[i] = 0;
        htri_t r = H5Lexists(f, buf, H5P_DEFAULT);
        if (r < 0) return ckpt_h5err(e, "%s: cannot look up %s", path, buf);
        buf[i] = c;
        if (r == 0) return 0;
    }
    return 1;
}

typedef struct {
    hid_t f;            /* open file */
    hid_t root;         /* root group */
    int is_export;
} ckpt_file;

static void ckpt_close(ckpt_file *cf)
{
    if (cf->root >= 0) H5Gclose(cf->root);
    if (cf->f >= 0) H5Fclose(cf->f);
    cf->root = cf->f = -1;
}

/* Opens path read-only and checks the format, version and kind attributes. */
static int ckpt_open(const char *path, ckpt_file *cf, ferc_err *e)
{
    cf->f = cf->root = -1;
    cf->is_export = 0;
    if (!path || !path[0]) return ferc_errf(e, "checkpoint: empty path");
    struct stat sb;
    if (stat(path, &sb) != 0) return ferc_errf(e, "%s: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode)) return ferc_errf(e, "%s: not a regular file", path);
    if (ckpt_verify(path, (uint64_t)sb.st_size, e) < 0) return -1;
    htri_t is = H5Fis_hdf5(path);
    if (is < 0) return ckpt_h5err(e, "%s: cannot read the file", path);
    if (is == 0) return ferc_errf(e, "%s: not a ferc checkpoint (not an HDF5 file)", path);
    hid_t fapl = ckpt_fapl();
    if (fapl < 0) return ckpt_h5err(e, "%s: cannot set up HDF5 property lists", path);
    cf->f = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    if (cf->f < 0) ckpt_h5err(e, "%s: cannot open: the file is truncated or corrupt", path);
    H5Pclose(fapl);
    if (cf->f < 0) return -1;
    char *s = NULL;
    int64_t version = 0;
    int r;
    if ((cf->root = H5Gopen2(cf->f, "/", H5P_DEFAULT)) < 0) {
        ckpt_h5err(e, "%s: cannot open the root group: the file is corrupt", path);
        goto fail;
    }
    if ((r = ckpt_has_attr(path, e, cf->root, "/", "format")) < 0) goto fail;
    if (r == 0 || ckpt_get_attr(path, e, cf->root, "/", "format", -1, &s) < 0 || strcmp(s, CKPT_FORMAT) != 0) {
        ferc_errf(e, "%s: not a ferc checkpoint", path);
        goto fail;
    }
    free(s);
    s = NULL;
    if ((r = ckpt_has_attr(path, e, cf->root, "/", "version")) < 0) goto fail;
    if (r == 0) {
        ferc_errf(e, "%s: not a ferc checkpoint (no version attribute)", path);
        goto fail;
    }
    if (ckpt_get_attr(path, e, cf->root, "/", "version", H5T_NATIVE_INT64, &version) < 0) goto fail;
    if (version != FERC_CKPT_VERSION) {
        ferc_errf(e, "%s: checkpoint format version %lld, this ferc reads %d", path, (long long)version,
                  FERC_CKPT_VERSION);
        goto fail;
    }
    if (ckpt_get_attr(path, e, cf->root, "/", "kind", -1, &s) < 0) goto fail;
    if (!strcmp(s, "export"))
        cf->is_export = 1;
    else if (strcmp(s, "train") != 0) {
        ferc_errf(e, "%s: unknown checkpoint kind \"%.64s\"", path, s);
        goto fail;
    }
    free(s);
    return 0;
fail:
    free(s);
    ckpt_close(cf);
    return -1;
}

enum { CKPT_T_OK, CKPT_T_ABSENT, CKPT_T_SHAPE };

/* Opens float dataset `name` and compares its shape with (ndim, dims).
 * Returns CKPT_T_OK with *d open, CKPT_T_ABSENT, CKPT_T_SHAPE with the file's
 * shape in fshape, or -1 on error. */
static int ckpt_open_tensor(const char *path, ferc_err *e, hid_t f, const char *name, int ndim, const hsize_t *dims,
                            hid_t *d, char *fshape, size_t nfs)
{
    hid_t o = -1, ft = -1, sp = -1;
    hsize_t fd[H5S_MAX_RANK];
    int rc = -1;
    *d = -1;
    int ex = ckpt_exists(path, e, f, name);
    if (ex <= 0) return ex < 0 ? -1 : CKPT_T_ABSENT;
    if ((o = H5Oopen(f, name, H5P_DEFAULT)) < 0) {
        ckpt_h5err(e, "%s: cannot open %s", path, name);
        goto done;
    }
    if (H5Iget_type(o) != H5I_DATASET) {
        ferc_errf(e, "%s: %s is not a dataset", path, name);
        goto done;
    }
    if ((ft = H5Dget_type(o)) < 0 || (sp = H5Dget_space(o)) < 0) {
        ckpt_h5err(e, "%s: cannot read the type of %s", path, name);
        goto done;
    }
    if (H5Tget_class(ft) != H5T_FLOAT) {
        ferc_errf(e, "%s: %s is not floating-point data", path, name);
        goto done;
    }
    int nd = H5Sget_simple_extent_ndims(sp);
    if (nd < 0 || H5Sget_simple_extent_dims(sp, fd, NULL) < 0) {
        ckpt_h5err(e, "%s: cannot read the shape of %s", path, name);
        goto done;
    }
    int same = nd == ndim;
    for (int i = 0; same && i < nd; i++) same = fd[i] == dims[i];
    if (!same) {
        ckpt_shape_str(fshape, nfs, nd, fd);
        rc = CKPT_T_SHAPE;
        goto done;
    }
    *d = o;
    o = -1;
    rc = CKPT_T_OK;
done:
    if (sp >= 0) H5Sclose(sp);
    if (ft >= 0) H5Tclose(ft);
    if (o >= 0) H5Oclose(o);
    return rc;
}

static int ckpt_read_dset(const char *path, ferc_err *e, hid_t d, const char *name, size_t n, float *dst)
{
    if (n > 0 && H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst) < 0)
        return ckpt_h5err(e, "%s: cannot read %s: the file is corrupt", path, name);
    return 0;
}

/* Reads dataset `name` into dst after checking the shape; missing or
 * mis-shaped is an error (`what` names the kind of object). */
static int ckpt_read_exact(const char *path, ferc_err *e, hid_t f, const char *name, const char *label,
                           const ferc_tensor *t, float *dst)
{
    hsize_t dims[4];
    char fs[96], ms[96];
    hid_t d;
    int nd = ckpt_tensor_dims(t, dims);
    int r = ckpt_open_tensor(path, e, f, name, nd, dims, &d, fs, sizeof fs);
    if (r < 0) return -1;
    if (r == CKPT_T_ABSENT) return ferc_errf(e, "%s: missing %s %s", path, label, t->name);
    if (r == CKPT_T_SHAPE) {
        ckpt_shape_str(ms, sizeof ms, nd, dims);
        return ferc_errf(e, "%s: %s %s has shape %s, the model expects %s", path, label, t->name, fs, ms);
    }
    int rc = dst ? ckpt_read_dset(path, e, d, name, t->n, dst) : 0;
    H5Dclose(d);
    return rc;
}

/* Calls fn for every dataset below group g, with names relative to the walk's
 * start ("conv1_1/kernel"). */
typedef int (*ckpt_walk_fn)(void *ctx, const char *name, hid_t dset);

static int ckpt_walk(const char *path, ferc_err *e, hid_t g, const char *prefix, int depth, ckpt_walk_fn fn,
                     void *ctx)
{
    H5G_info_t gi;
    if (depth > 16) return ferc_errf(e, "%s: groups nested too deeply under %s", path, prefix);
    if (H5Gget_info(g, &gi) < 0) return ckpt_h5err(e, "%s: cannot list %s", path, prefix);
    for (hsize_t i = 0; i < gi.nlinks; i++) {
        char full[CKPT_NAME];
        size_t pl = strlen(prefix) + (prefix[0] != 0); /* "prefix/" */
        memcpy(full, prefix, pl);
        full[pl ? pl - 1 : 0] = '/';
        char *nm = full + pl;
        ssize_t len = H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, nm, sizeof full - pl, H5P_DEFAULT);
        if (len < 0) return ckpt_h5err(e, "%s: cannot list %s", path, prefix);
        if ((size_t)len >= sizeof full - pl)
            return ferc_errf(e, "%s: an object name under /%s is too long", path, prefix);
        hid_t o = H5Oopen(g, nm, H5P_DEFAULT);
        if (o < 0) return ckpt_h5err(e, "%s: cannot open %s", path, full);
        H5I_type_t ty = H5Iget_type(o);
        int rc = 0;
        if (ty == H5I_GROUP)
            rc = ckpt_walk(path, e, o, full, depth + 1, fn, ctx);
        else if (ty == H5I_DATASET)
            rc = fn(ctx, full, o);
        H5Oclose(o);
        if (rc < 0) return -1;
    }
    return 0;
}

/* Walks /<group> if it exists. */
static int ckpt_walk_group(const char *path, ferc_err *e, hid_t f, const char *group, ckpt_walk_fn fn, void *ctx)
{
    int ex = ckpt_exists(path, e, f, group);
    if (ex <= 0) return ex;
    hid_t g = H5Gopen2(f, group, H5P_DEFAULT);
    if (g < 0) return ckpt_h5err(e, "%s: cannot open %s", path, group);
    int rc = ckpt_walk(path, e, g, "", 0, fn, ctx);
    H5Gclose(g);
    return rc;
}

typedef struct {
    const ferc_net *net;
    int is_buffer;
    int n_extra;
    char list[512];
    ferc_log_fn log;    /* init_from: report instead of collecting */
    void *log_ctx;
    const char *path;
} ckpt_extra;

static int ckpt_extra_cb(void *ctx, const char *name, hid_t d)
{
    ckpt_extra *x = ctx;
    if (ckpt_find(x->net, name, x->is_buffer) >= 0) return 0;
    if (x->log) {
        char msg[512], fs[96] = "?";
        hsize_t dims[H5S_MAX_RANK];
        hid_t sp = H5Dget_space(d);
        int nd = sp >= 0 ? H5Sget_simple_extent_dims(sp, dims, NULL) : -1;
        if (nd >= 0) ckpt_shape_str(fs, sizeof fs, nd, dims);
        if (sp >= 0) H5Sclose(sp);
        snprintf(msg, sizeof msg, "init_from %s: unused %s %s (not in the model)", x->path, name, fs);
        x->log(x->log_ctx, msg);
        return 0;
    }
    size_t k = strlen(x->list);
    if (k < sizeof x->list - 80)
        snprintf(x->list + k, sizeof x->list - k, "%s%s", x->n_extra ? ", " : "", name);
    else if (!strstr(x->list, ", ..."))
        snprintf(x->list + k, sizeof x->list - k, ", ...");
    x->n_extra++;
    return 0;
}

/* Reports (log) or collects (error) tensors in the file that net lacks. */
static int ckpt_extras(const char *path, ferc_err *e, hid_t f, const ferc_net *net, ferc_log_fn log, void *log_ctx)
{
    ckpt_extra x;
    memset(&x, 0, sizeof x);
    x.net = net, x.log = log, x.log_ctx = log_ctx, x.path = path;
    for (x.is_buffer = 0; x.is_buffer < 2; x.is_buffer++)
        if (ckpt_walk_group(path, e, f, x.is_buffer ? "/buffers" : "/params", ckpt_extra_cb, &x) < 0) return -1;
    if (x.n_extra)
        return ferc_errf(e, "%s: the file has %d tensor%s the model does not: %s", path, x.n_extra,
                         x.n_extra == 1 ? "" : "s", x.list);
    return 0;
}

static int ckpt_load_optim(const char *path, ferc_err *e, hid_t f, const ferc_net *net, ferc_optim *opt, int dry)
{
    char name[CKPT_NAME];
    int64_t kind = -1, t = 0;
    hid_t g = H5Gopen2(f, "/optim", H5P_DEFAULT);
    if (g < 0) return ckpt_h5err(e, "%s: cannot open /optim", path);
    int rc = ckpt_get_attr(path, e, g, "/optim", "kind", H5T_NATIVE_INT64, &kind);
    if (rc == 0) rc = ckpt_get_attr(path, e, g, "/optim", "t", H5T_NATIVE_INT64, &t);
    H5Gclose(g);
    if (rc < 0) return -1;
    if (kind < 0 || kind > 2) return ferc_errf(e, "%s: unknown optimiser kind %lld", path, (long long)kind);
    if ((int)kind != (int)opt->kind)
        return ferc_errf(e, "%s: the optimiser state is for %s, this run uses %s", path, ckpt_optim_names[kind],
                         (int)opt->kind >= 0 && (int)opt->kind <= 2 ? ckpt_optim_names[opt->kind] : "?");
    if (opt->n != net->n_params || (opt->n > 0 && !opt->m) || (opt->kind != FERC_SGD && opt->n > 0 && !opt->v))
        return ferc_errf(e, "%s: the optimiser (%zu values) does not match the %zu parameters", path, opt->n,
                         net->n_params);
    for (int s = 0; s < (opt->kind == FERC_SGD ? 1 : 2); s++) {
        float *arena = s ? opt->v : opt->m;
        for (int i = 0; i < net->n_tensors; i++) {
            const ferc_tensor *tn = &net->tensors[i];
            if (tn->is_buffer) continue;
            snprintf(name, sizeof name, "/optim/%c/%s", s ? 'v' : 'm', tn->name);
            if (ckpt_read_exact(path, e, f, name, s ? "optimiser state v of" : "optimiser state m of", tn,
                                dry ? NULL : arena + tn->off) < 0)
                return -1;
        }
    }
    /* the weight average: read when this run keeps one (train.swa_epochs);
     * a file without it (saved before averaging began) starts it empty */
    if (opt->avg) {
        int ex = ckpt_exists(path, e, f, "/optim/avg");
        int64_t an = 0;
        if (ex < 0) return -1;
        if (ex) {
            g = H5Gopen2(f, "/optim", H5P_DEFAULT);
            if (g < 0) return ckpt_h5err(e, "%s: cannot open /optim", path);
            rc = ckpt_get_attr(path, e, g, "/optim", "avg_n", H5T_NATIVE_INT64, &an);
            H5Gclose(g);
            if (rc < 0) return -1;
            if (an < 0) return ferc_errf(e, "%s: /optim avg_n is negative (%lld)", path, (long long)an);
            for (int i = 0; i < net->n_tensors; i++) {
                const ferc_tensor *tn = &net->tensors[i];
                if (tn->is_buffer) continue;
                snprintf(name, sizeof name, "/optim/avg/%s", tn->name);
                if (ckpt_read_exact(path, e, f, name, "weight average of", tn, dry ? NULL : opt->avg + tn->off) < 0)
                    return -1;
            }
        }
        if (!dry) {
            if (!ex) memset(opt->avg, 0, opt->n * sizeof(float));
            opt->avg_n = an;
        }
    }
    if (!dry) opt->t = t;
    return 0;
}

/* Reads the 2-D float table `name` of f, [rows, cols] with rows in
 * [min_rows, max_rows] and cols in [min_cols, max_cols], into a new buffer
 * *out (NULL when it has no rows) and its shape into *rows, *cols; `what`
 * names the expected shape in the error ("[images, classes]"). With dset, the
 * open dataset is left there for its attributes and the caller closes it.
 * Returns 1 read, 0 absent, -1 error (nothing allocated). */
static int ckpt_read_table(const char *path, ferc_err *e, hid_t f, const char *name, const char *what,
                           hsize_t min_rows, hsize_t max_rows, hsize_t min_cols, hsize_t max_cols, float **out,
                           int *rows, int *cols, hid_t *dset)
{
    *out = NULL;
    int ex = ckpt_exists(path, e, f, name);
    if (ex <= 0) return ex;
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT), sp = -1;
    hsize_t dims[H5S_MAX_RANK];
    if (d < 0) return ckpt_h5err(e, "%s: cannot open %s", path, name);
    int rc = -1;
    if ((sp = H5Dget_space(d)) < 0 || H5Sget_simple_extent_ndims(sp) != 2 ||
        H5Sget_simple_extent_dims(sp, dims, NULL) != 2 || dims[0] < min_rows || dims[0] > max_rows ||
        dims[1] < min_cols || dims[1] > max_cols) {
        ferc_errf(e, "%s: %s is not a %s table", path, name, what);
        goto done;
    }
    size_t n = (size_t)dims[0] * dims[1];
    if (n && !(*out = malloc(n * sizeof(float)))) {
        ferc_errf(e, "%s: out of memory for %s", path, name);
        goto done;
    }
    if (ckpt_read_dset(path, e, d, name, n, *out) < 0) goto done;
    *rows = (int)dims[0], *cols = (int)dims[1];
    rc = 1;
done:
    if (rc < 0) free(*out), *out = NULL;
    if (sp >= 0) H5Sclose(sp);
    if (rc < 0 || !dset) H5Dclose(d);
    else *dset = d;
    return rc;
}

/* /distill/targets into st (absent: st->kd stays NULL). */
static int ckpt_load_distill(const char *path, ferc_err *e, hid_t f, ferc_train_state *st)
{
    hid_t d = -1;
    int r = ckpt_read_table(path, e, f, "/distill/targets", "[images, classes]", 1, 100000000, 1, FERC_MAX_CLASSES,
                            &st->kd, &st->kd_n, &st->kd_k, &d);
    if (r <= 0) return r;
    int rc = -1;
    const size_t n = (size_t)st->kd_n * st->kd_k;
    if (ckpt_get_attr(path, e, d, "/distill/targets", "teachers", -1, &st->kd_teachers) < 0 ||
        ckpt_get_attr(path, e, d, "/distill/targets", "temperature", H5T_NATIVE_FLOAT, &st->kd_temp) < 0)
        goto done;
    for (size_t i = 0; i < n; i++)
        if (!(st->kd[i] >= 0.0f && st->kd[i] <= 1.0f)) {
            ferc_errf(e, "%s: /distill/targets holds %g, not a probability", path, (double)st->kd[i]);
            goto done;
        }
    rc = 0;
done:
    if (rc) ferc_train_state_free_distill(st);
    H5Dclose(d);
    return rc;
}

static int ckpt_load_state(const char *path, ferc_err *e, hid_t f, hid_t root, ferc_train_state *st)
{
    /* absent attributes read as 0 (a train file saved without st) */
    static const char *const keys[6] = {"epoch", "step", "fold", "folds", "global_step", "seed"};
    int64_t v[6] = {0};
    memset(st, 0, sizeof *st);
    for (int i = 0; i < 6; i++) {
        int r = ckpt_has_attr(path, e, root, "/", keys[i]);
        if (r < 0 || (r > 0 && ckpt_get_attr(path, e, root, "/", keys[i], i == 5 ? H5T_NATIVE_UINT64 : H5T_NATIVE_INT64,
                                             &v[i]) < 0))
            return -1;
        if (i < 4 && (v[i] < INT_MIN || v[i] > INT_MAX))
            return ferc_errf(e, "%s: attribute %s is out of range (%lld)", path, keys[i], (long long)v[i]);
    }
    st->epoch = (int)v[0], st->step = (int)v[1], st->fold = (int)v[2], st->folds = (int)v[3];
    st->global_step = v[4];
    st->seed = (uint64_t)v[5];
    if (st->step > 0) {
        /* the stopped epoch's running figures; absent (0) in older files */
        static const char *const pk[4] = {"epoch_loss_sum", "epoch_correct", "epoch_seen", "epoch_seconds"};
        double d[4] = {0};
        for (int i = 0; i < 4; i++) {
            int64_t n = 0;
            int r = ckpt_has_attr(path, e, root, "/", pk[i]);
            if (r < 0) return -1;
            if (r == 0) continue;
            int odd = i == 1 || i == 2;
            if (ckpt_get_attr(path, e, root, "/", pk[i], odd ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE,
                              odd ? (void *)&n : (void *)&d[i]) < 0)
                return -1;
            if (odd) d[i] = (double)n;
            if (!(d[i] >= 0.0 && d[i] < 1e15))
                return ferc_errf(e, "%s: attribute %s is out of range (%g)", path, pk[i], d[i]);
        }
        if (d[1] > d[2])
            return ferc_errf(e, "%s: attribute epoch_correct (%.0f) is more than epoch_seen (%.0f)", path, d[1], d[2]);
        st->ep_loss_sum = d[0], st->ep_correct = (int64_t)d[1], st->ep_seen = (int64_t)d[2], st->ep_seconds = d[3];
    }
    if (ckpt_load_distill(path, e, f, st) < 0) return -1;
    char what[32];
    int cols;
    snprintf(what, sizeof what, "[epochs, %d]", FERC_HIST_COLS);
    if (ckpt_read_table(path, e, f, "/history", what, 0, 1000000, FERC_HIST_COLS, FERC_HIST_COLS, &st->hist,
                        &st->n_hist, &cols, NULL) < 0) {
        ferc_train_state_free(st);
        return -1;
    }
    return 0;
}

int ferc_ckpt_read_config(const char *path, ferc_config *cfg, ferc_err *e)
{
    ckpt_quiet();
    ckpt_file cf;
    if (ckpt_open(path, &cf, e) < 0) return -1;
    char *text = NULL;
    int rc = ckpt_get_attr(path, e, cf.root, "/", "config", -1, &text);
    ckpt_close(&cf);
    if (rc < 0) return -1;
    rc = ferc_config_parse(cfg, text, path, NULL, NULL, e);
    free(text);
    return rc;
}

typedef struct {
    int max;
    const char *path;
    ferc_err *e;
} ckpt_bits;

static int ckpt_bits_cb(void *ctx, const char *name, hid_t d)
{
    ckpt_bits *b = ctx;
    hid_t t = H5Dget_type(d);
    if (t < 0) return ckpt_h5err(b->e, "%s: cannot read the type of %s", b->path, name);
    int bits = (int)H5Tget_size(t) * 8;
    H5Tclose(t);
    if (bits > b->max) b->max = bits;
    return 0;
}

int ferc_ckpt_weight_bits(const char *path, ferc_err *e)
{
    ckpt_quiet();
    ckpt_file cf;
    if (ckpt_open(path, &cf, e) < 0) return -1;
    ckpt_bits b = {0, path, e};
    int rc = ckpt_walk_group(path, e, cf.f, "/params", ckpt_bits_cb, &b);
    ckpt_close(&cf);
    return rc < 0 ? -1 : b.max;
}

int ferc_ckpt_read_state(const char *path, ferc_train_state *st, ferc_err *e)
{
    ckpt_quiet();
    ckpt_file cf;
    if (ckpt_open(path, &cf, e) < 0) return -1;
    int rc = ckpt_load_state(path, e, cf.f, cf.root, st);
    ckpt_close(&cf);
    return rc;
}

int ferc_ckpt_load(const char *path, ferc_net *net, ferc_optim *opt, ferc_train_state *st, ferc_err *e)
{
    ckpt_quiet();
    if (ckpt_check_net(path, net, "load", e) < 0) return -1;
    ckpt_file cf;
    if (ckpt_open(path, &cf, e) < 0) return -1;
    char name[CKPT_NAME];
    int rc = -1, has_optim = 0;
    ferc_train_state state;
    memset(&state, 0, sizeof state);
    if (opt && cf.is_export) {
        ferc_errf(e, "%s: is an inference export, it has no optimiser state to resume from", path);
        goto done;
    }
    /* pass 0 checks every tensor and the optimiser state and reads the train
     * state; pass 1 reads the tensors, so a mismatched file leaves the network,
     * optimiser and st untouched (only a read failure in pass 1, i.e. corrupt
     * tensor data, can leave them partly overwritten) */
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < net->n_tensors; i++) {
            const ferc_tensor *t = &net->tensors[i];
            snprintf(name, sizeof name, "/%s/%s", t->is_buffer ? "buffers" : "params", t->name);
            if (ckpt_read_exact(path, e, cf.f, name, "tensor", t, pass ? ckpt_arena(net, t) : NULL) < 0) goto done;
        }
        if (pass == 0) {
            if (ckpt_extras(path, e, cf.f, net, NULL, NULL) < 0) goto done;
            if (opt && (has_optim = ckpt_exists(path, e, cf.f, "/optim")) < 0) goto done;
        }
        if (has_optim && ckpt_load_optim(path, e, cf.f, net, opt, pass == 0) < 0) goto done;
        if (pass == 0 && st && ckpt_load_state(path, e, cf.f, cf.root, &state) < 0) goto done;
    }
    if (st) {
        *st = state;
        state.hist = NULL, state.kd = NULL, state.kd_teachers = NULL;
    }
    rc = 0;
done:
    ferc_train_state_free(&state);
    ckpt_close(&cf);
    return rc;
}

int ferc_ckpt_init_from(const char *path, ferc_net *net, ferc_log_fn log, void *log_ctx, ferc_err *e)
{
    ckpt_quiet();
    if (ckpt_check_net(path, net, "load", e) < 0) return -1;
    ckpt_file cf;
    if (ckpt_open(path, &cf, e) < 0) return -1;
    char name[CKPT_NAME], msg[640], fs[96], ms[96];
    hsize_t dims[4];
    int loaded = 0;
    for (int i = 0; i < net->n_tensors; i++) {
        const ferc_tensor *t = &net->tensors[i];
        hid_t d;
        snprintf(name, sizeof name, "/%s/%s", t->is_buffer ? "buffers" : "params", t->name);
        int nd = ckpt_tensor_dims(t, dims);
        ckpt_shape_str(ms, sizeof ms, nd, dims);
        int r = ckpt_open_tensor(path, e, cf.f, name, nd, dims, &d, fs, sizeof fs);
        if (r < 0) goto fail;
        if (r == CKPT_T_OK) {
            r = ckpt_read_dset(path, e, d, name, t->n, ckpt_arena(net, t));
            H5Dclose(d);
            if (r < 0) goto fail;
            loaded++;
            snprintf(msg, sizeof msg, "init_from %s: loaded %s %s", path, t->name, ms);
        } else if (r == CKPT_T_SHAPE) {
            snprintf(msg, sizeof msg, "init_from %s: skipped %s: shape %s in the file, the model has %s", path,
                     t->name, fs, ms);
        } else {
            snprintf(msg, sizeof msg, "init_from %s: missing %s %s: not in the file, keeps its initialisation",
                     path, t->name, ms);
        }
        if (log) log(log_ctx, msg);
    }
    if (log && ckpt_extras(path, e, cf.f, net, log, log_ctx) < 0) goto fail;
    ckpt_close(&cf);
    return loaded;
fail:
    ckpt_close(&cf);
    return -1;
}

int ferc_ckpt_init_head(const char *path, ferc_net *net, const ferc_config *cfg, ferc_rng *rng, ferc_log_fn log,
                        void *log_ctx, ferc_err *e)
{
    int li = net->n_layers - 1;
    if (li < 0 || net->layers[li].type != FERC_FC || net->layers[li].t_w < 0 || net->layers[li].t_b < 0)
        return ferc_errf(e, "%s: the network has no fully connected classifier to map", path);
    ferc_config fc;
    memset(&fc, 0, sizeof fc);
    if (ferc_ckpt_read_config(path, &fc, e)) return -1;
    int same = fc.n_classes == cfg->n_classes;
    for (int i = 0; same && i < cfg->n_classes; i++) same = !strcmp(fc.classes[i], cfg->classes[i]);
    if (same) {
        ferc_config_free(&fc);
        return cfg->n_classes;
    }
    /* other classes: start from a fresh head, then copy the rows of the classes both have */
    ferc_net_init_layer(net, li, rng);
    const ferc_tensor *tw = &net->tensors[net->layers[li].t_w], *tb = &net->tensors[net->layers[li].t_b];
    const int K = tw->shape[0], in = tw->shape[1], nf = fc.n_classes;
    char kname[CKPT_NAME], bname[CKPT_NAME], fs[96], msg[1024];
    snprintf(kname, sizeof kname, "/params/%s", tw->name);
    snprintf(bname, sizeof bname, "/params/%s", tb->name);
    hsize_t kd[2] = {(hsize_t)nf, (hsize_t)in}, bd[1] = {(hsize_t)nf};
    float *w = malloc(sizeof(float) * ((size_t)nf * in + nf));
    ckpt_file cf;
    hid_t dk = -1, db = -1;
    int mapped = -1;
    if (!w) {
        ferc_errf(e, "%s: out of memory reading the classifier", path);
        goto out;
    }
    if (ckpt_open(path, &cf, e) < 0) goto out;
    int rk = ckpt_open_tensor(path, e, cf.f, kname, 2, kd, &dk, fs, sizeof fs);
    int rb = rk == CKPT_T_OK ? ckpt_open_tensor(path, e, cf.f, bname, 1, bd, &db, fs, sizeof fs) : rk;
    if (rk < 0 || rb < 0) goto close;
    mapped = 0;
    int len = snprintf(msg, sizeof msg, "init_from %s: classifier %s mapped by class name:", path, net->layers[li].name);
    if (rk == CKPT_T_OK && rb == CKPT_T_OK) {
        if (ckpt_read_dset(path, e, dk, kname, (size_t)nf * in, w) < 0 ||
            ckpt_read_dset(path, e, db, bname, (size_t)nf, w + (size_t)nf * in) < 0) {
            mapped = -1;
            goto close;
        }
        float *W = net->params + tw->off, *B = net->params + tb->off;
        for (int i = 0; i < K; i++) {
            int j = 0;
            while (j < nf && strcmp(fc.classes[j], cfg->classes[i])) j++;
            if (j < nf) {
                memcpy(W + (size_t)i * in, w + (size_t)j * in, sizeof(float) * in);
                B[i] = w[(size_t)nf * in + j];
                mapped++;
            }
            if (len < (int)sizeof msg)
                len += snprintf(msg + len, sizeof msg - len, " %s%s", cfg->classes[i], j < nf ? "" : " (new)");
        }
        for (int j = 0; j < nf && len < (int)sizeof msg; j++) {
            int i = 0;
            while (i < K && strcmp(fc.classes[j], cfg->classes[i])) i++;
            if (i == K) len += snprintf(msg + len, sizeof msg - len, ", %s dropped", fc.classes[j]);
        }
    } else {
        snprintf(msg + len, sizeof msg - len, " none (its input size differs), initialised afresh");
    }
    if (log) log(log_ctx, msg);
close:
    if (dk >= 0) H5Dclose(dk);
    if (db >= 0) H5Dclose(db);
    ckpt_close(&cf);
out:
    free(w);
    ferc_config_free(&fc);
    return mapped;
}

void ferc_train_state_free(ferc_train_state *st)
{
    if (!st) return;
    free(st->hist);
    st->hist = NULL;
    st->n_hist = 0;
    ferc_train_state_free_distill(st);
}

void ferc_train_state_free_distill(ferc_train_state *st)
{
    if (!st) return;
    free(st->kd);
    free(st->kd_teachers);
    st->kd = NULL, st->kd_teachers = NULL;
    st->kd_n = st->kd_k = 0;
}
