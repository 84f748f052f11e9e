/* haar_impl.h: the loaded cascade as haar.c builds it and haar_detect.c
 * evaluates it. Private to the haar module. */
#ifndef FERC_HAAR_IMPL_H
#define FERC_HAAR_IMPL_H
#include "haar.h"

/* At most 3 rectangles per feature (OpenCV's RECT_NUM); unused ones have
 * weight 0 and an empty rectangle at (0, 0). */
typedef struct {
    int x, y, w, h;
    float wt;
} haar_rect;

typedef struct {
    int n_rect;
    haar_rect r[3];
} haar_feature;

/* One decision node: value = sum_i wt_i * rectsum_i / nf; go left when
 * value < thr. A child > 0 is a node index within the same tree (always
 * greater than the parent's, so walks end); a child <= 0 is leaf -child. */
typedef struct {
    int feat;
    float thr;
    int left, right;
} haar_node;

typedef struct {
    int first_node, n_nodes;   /* into ferc_haar.node */
    int first_leaf, n_leaves;  /* into ferc_haar.leaf */
} haar_tree;

typedef struct {
    int first_tree, n_trees;   /* into ferc_haar.tree */
    float thr;                 /* the file's stageThreshold - 1e-5f, as OpenCV */
} haar_stage;

struct ferc_haar {
    int win_w, win_h;
    int n_stages, n_trees, n_nodes, n_leaves, n_features;
    int stumps;                /* 1: every tree is a single node with two leaves */
    haar_stage *stage;
    haar_tree *tree;
    haar_node *node;
    float *leaf;
    haar_feature *feat;
};

#endif
