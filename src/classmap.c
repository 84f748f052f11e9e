/* classmap.c: folder-name -> class matching through the emotion synonym table
 * and a config's aliases (see classmap.h). */
#include "classmap.h"
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* One group per line; the first name is the canonical one. */
static const char *const synonyms[][5] = {
    {"anger", "angry", "mad", NULL},
    {"happy", "happiness", "joy", NULL},
    {"sad", "sadness", NULL},
    {"surprise", "surprised", NULL},
    {"fear", "afraid", "fearful", "scared", NULL},
    {"disgust", "disgusted", NULL},
    {"contempt", "contemptuous", NULL},
    {"neutral", "calm", NULL},
};
#define N_GROUPS ((int)(sizeof synonyms / sizeof synonyms[0]))

int ferc_emotion_group(const char *name)
{
    if (!name) return -1;
    for (int g = 0; g < N_GROUPS; g++)
        for (int i = 0; synonyms[g][i]; i++)
            if (!strcasecmp(synonyms[g][i], name)) return g;
    return -1;
}

const char *ferc_emotion_canonical(int group)
{
    return group >= 0 && group < N_GROUPS ? synonyms[group][0] : NULL;
}

int ferc_classmap_class_of(const ferc_config *c, const char *folder)
{
    int k = ferc_config_class_of(c, folder);
    if (k >= 0 && k < c->n_classes) return k;
    int g = ferc_emotion_group(folder);
    if (g < 0) return -1;
    for (k = 0; k < c->n_classes; k++)
        if (ferc_emotion_group(c->classes[k]) == g) return k;
    /* a class known only through an alias: "happy=joyful" makes joyful happy */
    for (int i = 0; i < c->n_aliases && i < FERC_MAX_ALIASES; i++)
        if (ferc_emotion_group(c->alias_from[i]) == g) {
            k = ferc_config_class_of(c, c->alias_to[i]);
            if (k >= 0 && k < c->n_classes) return k;
        }
    return -1;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

int ferc_classmap_build(const ferc_config *c, const char *const *folders, int n, ferc_folder_map *m, ferc_err *e)
{
    memset(m, 0, sizeof *m);
    if (n > FERC_MAX_FOLDERS)
        return ferc_errf(e, "%d folders; at most %d class folders are supported", n, FERC_MAX_FOLDERS);
    for (int i = 0; i < n; i++) {
        if (strlen(folders[i]) >= FERC_NAME)
            return ferc_errf(e, "folder name '%.60s...' is too long for a class folder (%d bytes at most)",
                             folders[i], FERC_NAME - 1);
        snprintf(m->name[i], FERC_NAME, "%s", folders[i]);
    }
    m->n = n;
    qsort(m->name, (size_t)n, FERC_NAME, cmp_name);
    for (int i = 0; i < n; i++) {
        m->cls[i] = ferc_classmap_class_of(c, m->name[i]);
        m->n_mapped += m->cls[i] >= 0;
    }
    return 0;
}

int ferc_classmap_scan(const ferc_config *c, const char *root, ferc_folder_map *m, ferc_err *e)
{
    memset(m, 0, sizeof *m);
    struct stat st;
    if (stat(root, &st) != 0) return ferc_errf(e, "%s: dataset folder not found: %s", root, strerror(errno));
    if (!S_ISDIR(st.st_mode)) return ferc_errf(e, "%s: not a folder", root);
    DIR *dp = opendir(root);
    if (!dp) return ferc_errf(e, "%s: cannot open folder: %s", root, strerror(errno));
    char names[FERC_MAX_FOLDERS][FERC_NAME];
    const char *ptr[FERC_MAX_FOLDERS];
    int n = 0, rc = 0;
    struct dirent *de;
    while ((de = readdir(dp))) {
        if (de->d_name[0] == '.') continue;
        size_t lr = strlen(root), ln = strlen(de->d_name);
        char *p = malloc(lr + ln + 2);
        if (!p) {
            rc = ferc_errf(e, "%s: out of memory", root);
            break;
        }
        memcpy(p, root, lr);
        p[lr] = '/';
        memcpy(p + lr + 1, de->d_name, ln + 1);
        int is_dir = stat(p, &st) == 0 && S_ISDIR(st.st_mode);
        free(p);
        if (!is_dir) continue;
        if (n == FERC_MAX_FOLDERS) {
            rc = ferc_errf(e, "%s: more than %d sub-folders; at most %d class folders are supported", root,
                           FERC_MAX_FOLDERS, FERC_MAX_FOLDERS);
            break;
        }
        if (ln >= FERC_NAME) {
            rc = ferc_errf(e, "%s: folder name '%.60s...' is too long for a class folder (%d bytes at most)", root,
                           de->d_name, FERC_NAME - 1);
            break;
        }
        memcpy(names[n], de->d_name, ln + 1);
        ptr[n] = names[n];
        n++;
    }
    closedir(dp);
    if (rc) return rc;
    if (n == 0)
        return ferc_errf(e, "%s: no sub-folders; a dataset holds one folder of images per class (e.g. %s/%s/)", root,
                         root, c->n_classes > 0 ? c->classes[0] : "happy");
    return ferc_classmap_build(c, ptr, n, m, e);
}

int ferc_classmap_apply(ferc_config *dst, const ferc_folder_map *m, const char *root, ferc_err *e)
{
    if (m->n_mapped == 0) {
        char have[256] = "", cls[512] = "";
        size_t lh = 0, lc = 0;
        for (int i = 0; i < m->n && lh < sizeof have; i++)
            lh += (size_t)snprintf(have + lh, sizeof have - lh, "%s%s", i ? ", " : "", m->name[i]);
        for (int k = 0; k < dst->n_classes && lc < sizeof cls; k++)
            lc += (size_t)snprintf(cls + lc, sizeof cls - lc, "%s%s", k ? ", " : "", dst->classes[k]);
        return ferc_errf(e, "%s: no folder matches a class of the model: the folders are {%s}, the model's classes "
                            "are {%s}",
                         root, have, cls);
    }
    int n = 0;
    for (int i = 0; i < m->n; i++) {
        if (m->cls[i] < 0) continue;
        if (n == FERC_MAX_ALIASES) return ferc_errf(e, "%s: too many class folders", root);
        snprintf(dst->alias_from[n], FERC_NAME, "%s", m->name[i]);
        memcpy(dst->alias_to[n], dst->classes[m->cls[i]], FERC_NAME); /* both FERC_NAME arrays, terminated */
        n++;
    }
    dst->n_aliases = n;
    return 0;
}
