/* report.c: the human-readable report on stdout, the JSON summary and the
 * per-image CSV of ./eval. The report's last line is "accuracy: 0.xxxx". */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "eval.h"
#include "json.h"

/* ------------------------------------------------------------ stdout report */

static int name_width(const eval_total *t, int min)
{
    int w = min;
    for (int k = 0; k < t->k; k++)
        if ((int)strlen(t->classes[k]) > w) w = (int)strlen(t->classes[k]);
    return w;
}

static void print_metric_block(FILE *f, const ferc_metrics *m, int ci)
{
    if (ci)
        fprintf(f, "  accuracy           %.4f   95%% CI %.4f-%.4f (Wilson; %lld of %lld right)\n", m->accuracy,
                m->ci_lo, m->ci_hi, (long long)m->correct, (long long)m->n);
    else
        fprintf(f, "  accuracy           %.4f   (%lld of %lld right; no interval: checkpoints share images)\n",
                m->accuracy, (long long)m->correct, (long long)m->n);
    fprintf(f, "  balanced accuracy  %.4f   (mean recall over the %d classes present)\n", m->balanced_accuracy,
            m->n_present);
    fprintf(f, "  macro-F1           %.4f\n", m->macro_f1);
    fprintf(f, "  top-2 accuracy     %.4f\n", m->top2);
}

static void print_per_class(FILE *f, const eval_total *t, const ferc_metrics *m)
{
    int w = name_width(t, 9);
    fprintf(f, "\nper class%*s  precision  recall      F1  support  predicted\n", w - 7, "");
    for (int k = 0; k < t->k; k++) {
        fprintf(f, "  %-*s     %.4f", w, t->classes[k], m->precision[k]);
        if (m->support[k])
            fprintf(f, "  %.4f  %.4f", m->recall[k], m->f1[k]);
        else
            fprintf(f, "       -       -");
        fprintf(f, "  %7lld  %9lld%s\n", (long long)m->support[k], (long long)m->predicted[k],
                m->support[k] ? "" : "  (not in the data)");
    }
    double mp = 0.0;
    for (int k = 0; k < t->k; k++)
        if (m->support[k]) mp += m->precision[k];
    double mr = m->balanced_accuracy;
    fprintf(f, "  %-*s     %.4f  %.4f  %.4f  %7lld\n", w, "macro avg", mp / m->n_present, mr, m->macro_f1,
            (long long)m->n);
}

static void print_confusion(FILE *f, const eval_total *t, const ferc_confusion *c)
{
    int w = name_width(t, 6), cw = w + 1;
    if (cw < 7) cw = 7;
    fprintf(f, "\nconfusion matrix (rows = true class, columns = predicted), counts:\n  %-*s", w, "");
    for (int p = 0; p < t->k; p++) fprintf(f, " %*s", cw, t->classes[p]);
    fprintf(f, " %*s\n", 7, "total");
    for (int r = 0; r < t->k; r++) {
        int64_t row = 0;
        fprintf(f, "  %-*s", w, t->classes[r]);
        for (int p = 0; p < t->k; p++) {
            fprintf(f, " %*lld", cw, (long long)c->cm[r][p]);
            row += c->cm[r][p];
        }
        fprintf(f, " %7lld\n", (long long)row);
    }
    fprintf(f, "row-normalised (%% of each true class):\n  %-*s", w, "");
    for (int p = 0; p < t->k; p++) fprintf(f, " %*s", cw, t->classes[p]);
    fprintf(f, "\n");
    for (int r = 0; r < t->k; r++) {
        int64_t row = 0;
        for (int p = 0; p < t->k; p++) row += c->cm[r][p];
        fprintf(f, "  %-*s", w, t->classes[r]);
        for (int p = 0; p < t->k; p++)
            if (row)
                fprintf(f, " %*.1f", cw, 100.0 * (double)c->cm[r][p] / (double)row);
            else
                fprintf(f, " %*s", cw, "-");
        fprintf(f, "\n");
    }
}

typedef struct {
    int run, i;
    float p;
} mistake;

static int cmp_mistake(const void *a, const void *b)
{
    const mistake *x = a, *y = b;
    if (x->p != y->p) return x->p < y->p ? 1 : -1;
    if (x->run != y->run) return x->run - y->run;
    return x->i - y->i;
}

/* The most confident mistakes over all runs, most probable first; *n in: max, out: found. */
static mistake *find_mistakes(const eval_run *runs, int n_runs, int *n)
{
    int total = 0;
    for (int r = 0; r < n_runs; r++)
        for (int i = 0; i < runs[r].n; i++) total += runs[r].pred[i] != runs[r].truth[i];
    mistake *v = malloc(sizeof *v * (size_t)(total ? total : 1));
    if (!v) {
        *n = 0;
        return NULL;
    }
    int m = 0;
    for (int r = 0; r < n_runs; r++)
        for (int i = 0; i < runs[r].n; i++)
            if (runs[r].pred[i] != runs[r].truth[i])
                v[m++] = (mistake){r, i, runs[r].probs[(size_t)i * runs[r].k + runs[r].pred[i]]};
    qsort(v, (size_t)m, sizeof *v, cmp_mistake);
    if (m < *n) *n = m;
    return v;
}

static void print_source(FILE *f, const eval_opts *o, const eval_run *r)
{
    fprintf(f, "checkpoint %s: epoch %d", r->path, r->st.epoch);
    if (r->st.folds > 1) fprintf(f, ", fold %d of %d", r->st.fold, r->st.folds);
    fprintf(f, ", seed %llu", (unsigned long long)r->cfg.seed);
    if (r->weight_bits == 16) fprintf(f, ", float16 weights");
    fprintf(f, "\n");
    fprintf(f, "  data: %s: %d images, %.2fs (%.0f img/s", r->source, r->n, r->infer_s,
            r->infer_s > 0 ? r->n / r->infer_s : 0.0);
    if (o->tta) fprintf(f, ", %d views each", ferc_tta_views(o->tta));
    fprintf(f, ")\n");
    if (!isnan(r->recorded_acc)) {
        double d = fabs(r->m_plain.accuracy - r->recorded_acc);
        if (d <= 1.5 / r->n)
            fprintf(f, "  matches the test accuracy recorded during training (%.4f at epoch %d)\n", r->recorded_acc,
                    r->recorded_epoch);
        else
            fprintf(f, "  WARNING: training recorded test accuracy %.4f at epoch %d, this evaluation gives %.4f: "
                       "the dataset or the split changed since training\n",
                    r->recorded_acc, r->recorded_epoch, r->m_plain.accuracy);
    }
}

static void print_mapping(FILE *f, const eval_opts *o, const eval_run *r)
{
    fprintf(f, "folders of %s:\n", o->data);
    for (int i = 0; i < r->map.n; i++) {
        if (r->map.cls[i] >= 0)
            fprintf(f, "  %-14s -> %s\n", r->map.name[i], r->cfg.classes[r->map.cls[i]]);
        else
            fprintf(f, "  %-14s -> (no class of this model: excluded, %d images)\n", r->map.name[i],
                    r->excluded_images[i]);
    }
    int first = 1;
    for (int k = 0; k < r->k; k++) {
        int has = 0;
        for (int i = 0; i < r->map.n; i++) has |= r->map.cls[i] == k;
        if (has) continue;
        fprintf(f, "%s%s", first ? "model classes with no folder: " : ", ", r->cfg.classes[k]);
        first = 0;
    }
    if (!first) fprintf(f, " (predicting them is counted as an error)\n");
}

void eval_report(FILE *f, const eval_opts *o, const eval_run *runs, const eval_total *t)
{
    const int nr = t->n_runs, tta = o->tta != FERC_TTA_NONE;
    fprintf(f, "ferc eval: %d checkpoint%s on %s; test-time augmentation: %s\n", nr, nr > 1 ? "s" : "",
            o->data ? o->data : nr > 1 ? "their own test folds" : "its own test fold", ferc_tta_name(o->tta));
    fprintf(f, "classes:");
    for (int k = 0; k < t->k; k++) fprintf(f, " %s", t->classes[k]);
    fprintf(f, "\n\n");
    if (o->data) print_mapping(f, o, &runs[0]);
    for (int r = 0; r < nr; r++) print_source(f, o, &runs[r]);
    if (nr > 1) {
        fprintf(f, "\nper checkpoint:\n  %4s  %6s  %8s  %8s  %8s  %6s%s  %s\n", "fold", "n", "accuracy", "bal.acc",
                "macro-F1", "top-2", tta ? "     plain" : "", "checkpoint");
        for (int r = 0; r < nr; r++) {
            const ferc_metrics *m = &runs[r].m;
            fprintf(f, "  %4d  %6lld  %8.4f  %8.4f  %8.4f  %6.4f", runs[r].st.folds > 1 ? runs[r].st.fold : -1,
                    (long long)m->n, m->accuracy, m->balanced_accuracy, m->macro_f1, m->top2);
            if (tta) fprintf(f, "  %8.4f", runs[r].m_plain.accuracy);
            fprintf(f, "  %s\n", runs[r].path);
        }
        fprintf(f, "  mean +- std over %d checkpoints: accuracy %.4f +- %.4f, balanced %.4f +- %.4f, macro-F1 "
                   "%.4f +- %.4f\n",
                nr, t->fold_mean[0], t->fold_std[0], t->fold_mean[1], t->fold_std[1], t->fold_mean[2],
                t->fold_std[2]);
        if (tta)
            fprintf(f, "  without test-time augmentation:  accuracy %.4f +- %.4f\n", t->fold_mean_plain[0],
                    t->fold_std_plain[0]);
        if (t->overlap)
            fprintf(f, "  note: some images were evaluated by more than one checkpoint; the pooled figures count "
                       "them once per checkpoint\n");
    }
    fprintf(f, "\n%s over %lld images%s:\n", tta ? "with test-time augmentation" : "summary", (long long)t->m.n,
            nr > 1 ? ", pooled (confusion matrices summed over checkpoints)" : "");
    print_metric_block(f, &t->m, !t->overlap);
    if (tta) {
        const ferc_metrics *a = &t->m_plain, *b = &t->m;
        fprintf(f, "\ntest-time augmentation (%s, %d views%s) against the plain prediction, same images:\n",
                ferc_tta_name(o->tta), ferc_tta_views(o->tta) - ferc_tta_first(o->tta),
                o->tta == FERC_TTA_TENCROP ? ": 5 crops and their mirrors" : ": image and mirror");
        fprintf(f, "                       plain  %8s      gain\n", ferc_tta_name(o->tta));
        fprintf(f, "  accuracy            %.4f    %.4f   %+.4f\n", a->accuracy, b->accuracy, b->accuracy - a->accuracy);
        fprintf(f, "  balanced accuracy   %.4f    %.4f   %+.4f\n", a->balanced_accuracy, b->balanced_accuracy,
                b->balanced_accuracy - a->balanced_accuracy);
        fprintf(f, "  macro-F1            %.4f    %.4f   %+.4f\n", a->macro_f1, b->macro_f1,
                b->macro_f1 - a->macro_f1);
        fprintf(f, "  top-2 accuracy      %.4f    %.4f   %+.4f\n", a->top2, b->top2, b->top2 - a->top2);
        fprintf(f, "  changed predictions: %lld wrong -> right, %lld right -> wrong (exact McNemar p = %.3g%s)\n",
                (long long)t->fixed, (long long)t->broken, ferc_mcnemar_p(t->fixed, t->broken),
                ferc_mcnemar_p(t->fixed, t->broken) < 0.05 ? "" : ": not a significant difference");
    }
    print_per_class(f, t, &t->m);
    print_confusion(f, t, &t->conf);
    int nm = o->mistakes;
    if (nm > 0) {
        mistake *v = find_mistakes(runs, nr, &nm);
        if (v && nm > 0) {
            int w = name_width(t, 9);
            fprintf(f, "\nmost confident mistakes:\n  %-6s  %-*s  %-*s  %s\n", "prob", w, "true", w, "predicted",
                    "file");
            for (int j = 0; j < nm; j++) {
                const eval_run *r = &runs[v[j].run];
                fprintf(f, "  %.4f  %-*s  %-*s  %s\n", v[j].p, w, t->classes[r->truth[v[j].i]], w,
                        t->classes[r->pred[v[j].i]], r->file[v[j].i]);
            }
        } else if (v) {
            fprintf(f, "\nno mistakes\n");
        }
        free(v);
    }
    fprintf(f, "\naccuracy: %.4f\n", t->m.accuracy);
}

/* ------------------------------------------------------------ JSON */

/* Doubles round-trip exactly (%.17g); NaN/inf become null. */
static void json_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.17g", v);
    else
        fputs("null", f);
}

static void json_confusion(FILE *f, const ferc_confusion *c)
{
    fputc('[', f);
    for (int r = 0; r < c->k; r++) {
        fprintf(f, "%s[", r ? ", " : "");
        for (int p = 0; p < c->k; p++) fprintf(f, "%s%lld", p ? ", " : "", (long long)c->cm[r][p]);
        fputc(']', f);
    }
    fputc(']', f);
}

/* "accuracy", CI, balanced accuracy, macro-F1, top-2 of m (no braces). */
static void json_headline(FILE *f, const ferc_metrics *m, int ci, const char *ind)
{
    fprintf(f, "%s\"n\": %lld,\n%s\"correct\": %lld,\n%s\"accuracy\": ", ind, (long long)m->n, ind,
            (long long)m->correct, ind);
    json_num(f, m->accuracy);
    fprintf(f, ",\n%s\"accuracy_ci95\": ", ind);
    if (ci) {
        fputc('[', f);
        json_num(f, m->ci_lo);
        fputs(", ", f);
        json_num(f, m->ci_hi);
        fputc(']', f);
    } else {
        fputs("null", f);
    }
    fprintf(f, ",\n%s\"balanced_accuracy\": ", ind);
    json_num(f, m->balanced_accuracy);
    fprintf(f, ",\n%s\"macro_f1\": ", ind);
    json_num(f, m->macro_f1);
    fprintf(f, ",\n%s\"top2_accuracy\": ", ind);
    json_num(f, m->top2);
}

int eval_write_json(const char *path, const eval_opts *o, const eval_run *runs, const eval_total *t, ferc_err *e)
{
    FILE *f = fopen(path, "w");
    if (!f) return ferc_errf(e, "%s: cannot create: %s", path, strerror(errno));
    const int tta = o->tta != FERC_TTA_NONE;
    fprintf(f, "{\n  \"format\": \"ferc-eval\",\n  \"version\": 1,\n  \"checkpoints\": [");
    for (int r = 0; r < t->n_runs; r++) {
        if (r) fputs(", ", f);
        ferc_json_str(f, runs[r].path);
    }
    fprintf(f, "],\n  \"data\": ");
    ferc_json_str(f, o->data ? o->data : "test-fold");
    fprintf(f, ",\n  \"tta\": \"%s\",\n  \"classes\": [", ferc_tta_name(o->tta));
    for (int k = 0; k < t->k; k++) {
        if (k) fputs(", ", f);
        ferc_json_str(f, t->classes[k]);
    }
    fprintf(f, "],\n");
    json_headline(f, &t->m, !t->overlap, "  ");
    fprintf(f, ",\n  \"per_class\": {");
    for (int k = 0; k < t->k; k++) {
        fprintf(f, "%s\n    ", k ? "," : "");
        ferc_json_str(f, t->classes[k]);
        fprintf(f, ": {\"precision\": ");
        json_num(f, t->m.precision[k]);
        fprintf(f, ", \"recall\": ");
        json_num(f, t->m.recall[k]);
        fprintf(f, ", \"f1\": ");
        json_num(f, t->m.f1[k]);
        fprintf(f, ", \"support\": %lld, \"predicted\": %lld}", (long long)t->m.support[k],
                (long long)t->m.predicted[k]);
    }
    fprintf(f, "\n  },\n  \"confusion\": ");
    json_confusion(f, &t->conf);
    if (tta) {
        fprintf(f, ",\n  \"plain\": {\n");
        json_headline(f, &t->m_plain, !t->overlap, "    ");
        fprintf(f, ",\n    \"confusion\": ");
        json_confusion(f, &t->conf_plain);
        fprintf(f, "\n  },\n  \"tta_gain\": {\"accuracy\": ");
        json_num(f, t->m.accuracy - t->m_plain.accuracy);
        fprintf(f, ", \"wrong_to_right\": %lld, \"right_to_wrong\": %lld, \"mcnemar_p\": ", (long long)t->fixed,
                (long long)t->broken);
        json_num(f, ferc_mcnemar_p(t->fixed, t->broken));
        fputc('}', f);
    }
    fprintf(f, ",\n  \"overlap\": %s", t->overlap ? "true" : "false");
    if (o->data) {
        const eval_run *r = &runs[0];
        fprintf(f, ",\n  \"mapping\": {");
        for (int i = 0; i < r->map.n; i++) {
            fputs(i ? ", " : "", f);
            ferc_json_str(f, r->map.name[i]);
            fputs(": ", f);
            if (r->map.cls[i] >= 0)
                ferc_json_str(f, r->cfg.classes[r->map.cls[i]]);
            else
                fputs("null", f);
        }
        fprintf(f, "},\n  \"excluded\": {");
        int first = 1;
        for (int i = 0; i < r->map.n; i++)
            if (r->map.cls[i] < 0) {
                fputs(first ? "" : ", ", f);
                ferc_json_str(f, r->map.name[i]);
                fprintf(f, ": %d", r->excluded_images[i]);
                first = 0;
            }
        fputc('}', f);
    }
    fprintf(f, ",\n  \"folds\": [");
    for (int r = 0; r < t->n_runs; r++) {
        const eval_run *u = &runs[r];
        fprintf(f, "%s\n    {\n      \"checkpoint\": ", r ? "," : "");
        ferc_json_str(f, u->path);
        fprintf(f, ",\n      \"fold\": %d,\n      \"folds\": %d,\n      \"epoch\": %d,\n      \"weight_bits\": %d,"
                   "\n      \"data\": ",
                u->st.folds > 1 ? u->st.fold : -1, u->st.folds, u->st.epoch, u->weight_bits);
        ferc_json_str(f, u->source);
        fprintf(f, ",\n");
        json_headline(f, &u->m, 1, "      ");
        if (tta) {
            fprintf(f, ",\n      \"plain_accuracy\": ");
            json_num(f, u->m_plain.accuracy);
        }
        fprintf(f, ",\n      \"recorded_test_accuracy\": ");
        json_num(f, u->recorded_acc);
        fprintf(f, ",\n      \"seconds\": ");
        json_num(f, u->infer_s);
        fprintf(f, ",\n      \"confusion\": ");
        json_confusion(f, &u->conf);
        fprintf(f, "\n    }");
    }
    fprintf(f, "\n  ]");
    if (t->n_runs > 1) {
        static const char *const names[4] = {"accuracy", "balanced_accuracy", "macro_f1", "top2_accuracy"};
        fprintf(f, ",\n  \"fold_mean\": {");
        for (int i = 0; i < 4; i++) {
            fprintf(f, "%s\"%s\": ", i ? ", " : "", names[i]);
            json_num(f, t->fold_mean[i]);
            fprintf(f, ", \"%s_std\": ", names[i]);
            json_num(f, t->fold_std[i]);
        }
        if (tta) {
            fprintf(f, ", \"plain_accuracy\": ");
            json_num(f, t->fold_mean_plain[0]);
            fprintf(f, ", \"plain_accuracy_std\": ");
            json_num(f, t->fold_std_plain[0]);
        }
        fputc('}', f);
    }
    int nm = o->mistakes;
    mistake *v = nm > 0 ? find_mistakes(runs, t->n_runs, &nm) : NULL;
    fprintf(f, ",\n  \"mistakes\": [");
    for (int j = 0; v && j < nm; j++) {
        const eval_run *r = &runs[v[j].run];
        fprintf(f, "%s\n    {\"file\": ", j ? "," : "");
        ferc_json_str(f, r->file[v[j].i]);
        fprintf(f, ", \"true\": ");
        ferc_json_str(f, t->classes[r->truth[v[j].i]]);
        fprintf(f, ", \"predicted\": ");
        ferc_json_str(f, t->classes[r->pred[v[j].i]]);
        fprintf(f, ", \"probability\": ");
        json_num(f, v[j].p);
        fprintf(f, ", \"checkpoint\": ");
        ferc_json_str(f, r->path);
        fputc('}', f);
    }
    free(v);
    fprintf(f, "%s],\n  \"seconds\": ", nm > 0 ? "\n  " : "");
    json_num(f, t->seconds);
    fprintf(f, ",\n  \"images_per_second\": ");
    json_num(f, t->seconds > 0 ? (double)t->n_images / t->seconds : NAN);
    fprintf(f, "\n}\n");
    if (ferror(f) | fclose(f)) return ferc_errf(e, "%s: write failed: %s", path, strerror(errno));
    return 0;
}

/* ------------------------------------------------------------ CSV */

/* RFC 4180: quoted when it holds a comma, quote or line break. */
static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

int eval_write_csv(const char *path, const eval_opts *o, const eval_run *runs, int n_runs, ferc_err *e)
{
    FILE *f = fopen(path, "w");
    if (!f) return ferc_errf(e, "%s: cannot create: %s", path, strerror(errno));
    const int tta = o->tta != FERC_TTA_NONE, K = runs[0].k;
    fprintf(f, "checkpoint,fold,file,true,predicted,correct,probability");
    if (tta) fprintf(f, ",predicted_plain");
    for (int k = 0; k < K; k++) {
        fputs(",p_", f);
        csv_field(f, runs[0].cfg.classes[k]);
    }
    fputc('\n', f);
    for (int r = 0; r < n_runs; r++) {
        const eval_run *u = &runs[r];
        for (int i = 0; i < u->n; i++) {
            const float *p = u->probs + (size_t)i * K;
            csv_field(f, u->path);
            fprintf(f, ",%d,", u->st.folds > 1 ? u->st.fold : -1);
            csv_field(f, u->file[i]);
            fputc(',', f);
            csv_field(f, u->cfg.classes[u->truth[i]]);
            fputc(',', f);
            csv_field(f, u->cfg.classes[u->pred[i]]);
            fprintf(f, ",%d,%.9g", u->pred[i] == u->truth[i], p[u->pred[i]]);
            if (tta) {
                fputc(',', f);
                csv_field(f, u->cfg.classes[u->pred_plain[i]]);
            }
            for (int k = 0; k < K; k++) fprintf(f, ",%.9g", p[k]);
            fputc('\n', f);
        }
    }
    if (ferror(f) | fclose(f)) return ferc_errf(e, "%s: write failed: %s", path, strerror(errno));
    return 0;
}
