/* classmap.h: matching the folder names of a dataset to a model's classes.
 *
 * A folder maps to class k of a config when, in this order (case-insensitive):
 *   1. its name is the class name or one of the config's data.aliases
 *      (ferc_config_class_of);
 *   2. its name and class k's name are in the same group of the built-in
 *      emotion synonym table:
 *        anger angry mad | happy happiness joy | sad sadness |
 *        surprise surprised | fear afraid fearful scared | disgust disgusted |
 *        contempt contemptuous | neutral calm
 *      (a class whose name is an alias target counts with its aliases too:
 *      a model class "joyful" with alias "happy=joyful" catches "happiness").
 * A folder that maps to no class is reported by the caller and excluded, never
 * counted as right or wrong. Library code: errors through ferc_err only. */
#ifndef FERC_CLASSMAP_H
#define FERC_CLASSMAP_H
#include "config.h"
#include "err.h"

#define FERC_MAX_FOLDERS 64   /* class folders per dataset root (FERC_MAX_ALIASES) */

/* Synonym group of an emotion name (0..n-1), -1 when not in the table. */
int ferc_emotion_group(const char *name);
/* The canonical (first) name of a synonym group, e.g. "anger"; NULL if out of range. */
const char *ferc_emotion_canonical(int group);

/* Class index of a folder name for config c by the rules above, or -1. */
int ferc_classmap_class_of(const ferc_config *c, const char *folder);

typedef struct {
    int n;                                   /* folders found */
    char name[FERC_MAX_FOLDERS][FERC_NAME];  /* sorted by name */
    int cls[FERC_MAX_FOLDERS];               /* class index, -1 = no class of the model */
    int n_mapped;                            /* folders with cls >= 0 */
} ferc_folder_map;

/* Lists the sub-folders of root (hidden ones ignored, symlinks followed) and
 * maps each. Errors: root missing or not a folder, no sub-folders, more than
 * FERC_MAX_FOLDERS, a folder name of FERC_NAME bytes or more. A map with
 * n_mapped = 0 is not an error here (see ferc_classmap_apply). */
int ferc_classmap_scan(const ferc_config *c, const char *root, ferc_folder_map *m, ferc_err *e);
/* Fills m from the given folder names (no file system); same rules. */
int ferc_classmap_build(const ferc_config *c, const char *const *folders, int n, ferc_folder_map *m, ferc_err *e);
/* Rewrites dst's aliases so that ferc_config_class_of(dst, folder) gives
 * exactly m's mapping: every mapped folder becomes an alias folder=class.
 * Does not touch dst->text. Error (naming root and the model's classes) when
 * no folder maps to a class: the dataset and the model do not overlap. */
int ferc_classmap_apply(ferc_config *dst, const ferc_folder_map *m, const char *root, ferc_err *e);

#endif
