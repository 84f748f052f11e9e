/* loader.c: the prefetching batch loader (ferc_loader_*, see dataset.h).
 *
 * One background pthread fills two batch slots (double buffering): while the
 * caller trains on batch b (slot b % 2, HELD), the thread builds batch b + 1
 * in the other slot. Slot states: FREE -> BUSY (being filled, no lock held)
 * -> READY -> HELD (returned to the caller) -> FREE on the next call.
 *
 * Determinism: the epoch's order is a Fisher-Yates shuffle driven by an rng
 * seeded from (seed, epoch); sample p of the epoch is augmented with an rng
 * seeded from (seed, epoch, p). Nothing depends on timing, so restarting an
 * epoch at batch k reproduces the uninterrupted batches k, k + 1, ...
 *
 * A restart (ferc_loader_start) bumps a generation counter; a batch being
 * filled for an older generation is thrown away when it completes. The
 * epoch's order is only read under the mutex (the indices of a batch are
 * copied into its slot when the thread takes the job), so a restart can
 * rewrite it without waiting for the thread. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "dataset.h"

enum { FREE, BUSY, READY, HELD };

typedef struct {
    int state;
    int b;              /* batch index in the epoch */
    unsigned gen;       /* generation it was started for */
    int cnt;            /* images in the batch */
    float *x;           /* (batch, 1, size, size) */
    int *y, *ids;       /* (batch) */
} slot;

struct ferc_loader {
    const ferc_dataset *d;
    ferc_config cfg;    /* copy of the caller's config (augment, mean, std); text = NULL */
    int *idx;           /* n dataset indices to iterate */
    int *order;         /* n positions into idx: the current epoch's order */
    int n, batch, nb, train, size;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t th;
    /* Guarded by mu: */
    uint64_t seed;
    int epoch;
    unsigned gen;
    int next_produce;   /* next batch the thread will build */
    int next_consume;   /* next batch ferc_loader_next returns */
    int held;           /* slot held by the caller, or -1 */
    int quit;
    slot s[2];
};

static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Seed of the epoch's shuffle, and of the augmentation of sample pos. */
static uint64_t order_seed(uint64_t seed, int epoch)
{
    return mix64(mix64(seed ^ 0x6f72646572ULL) ^ (uint64_t)(uint32_t)epoch);
}

static uint64_t sample_seed(uint64_t seed, int epoch, int pos)
{
    return mix64(mix64(mix64(seed ^ 0x617567ULL) ^ (uint64_t)(uint32_t)epoch) ^ (uint64_t)(uint32_t)pos);
}

/* Builds one batch into sl (ids already filled); runs without the lock. */
static void fill(const ferc_loader *l, slot *sl, uint64_t seed, int epoch)
{
    const size_t isz = (size_t)l->size * l->size;
    /* Serial on purpose: augmenting a batch of 48x48 images takes well under
     * a millisecond, and an OpenMP team here would compete with the
     * training threads' own team. */
    for (int i = 0; i < sl->cnt; i++) {
        const int id = sl->ids[i];
        const uint8_t *src = l->d->pixels + isz * (size_t)id;
        sl->y[i] = l->d->label[id];
        if (l->train) {
            ferc_rng r;
            ferc_rng_seed(&r, sample_seed(seed, epoch, sl->b * l->batch + i));
            ferc_augment(src, l->size, &l->cfg, &r, sl->x + isz * (size_t)i);
        } else {
            ferc_normalize(src, l->size, l->cfg.mean, l->cfg.std, sl->x + isz * (size_t)i);
        }
    }
}

static void *worker(void *arg)
{
    ferc_loader *l = arg;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (!l->quit && !(l->next_produce < l->nb && l->s[l->next_produce % 2].state == FREE))
            pthread_cond_wait(&l->cv, &l->mu);
        if (l->quit)
            break;
        const int b = l->next_produce++;
        slot *sl = &l->s[b % 2];
        sl->state = BUSY;
        sl->b = b;
        sl->gen = l->gen;
        sl->cnt = l->n - b * l->batch < l->batch ? l->n - b * l->batch : l->batch;
        for (int i = 0; i < sl->cnt; i++)
            sl->ids[i] = l->idx[l->order[b * l->batch + i]];
        const uint64_t seed = l->seed;
        const int epoch = l->epoch;
        pthread_mutex_unlock(&l->mu);
        fill(l, sl, seed, epoch);
        pthread_mutex_lock(&l->mu);
        sl->state = sl->gen == l->gen ? READY : FREE;
        pthread_cond_broadcast(&l->cv);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

static void loader_release(ferc_loader *l)
{
    for (int i = 0; i < 2; i++) {
        free(l->s[i].x);
        free(l->s[i].y);
        free(l->s[i].ids);
    }
    free(l->idx);
    free(l->order);
    free(l);
}

ferc_loader *ferc_loader_new(const ferc_dataset *d, const ferc_config *c, const int *idx, int n,
                             int batch, int train, ferc_err *e)
{
    if (batch < 1 || n < 0) {
        ferc_errf(e, "loader: bad batch size %d or count %d", batch, n);
        return NULL;
    }
    if (!(c->std > 0)) {
        ferc_errf(e, "loader: std must be > 0 (got %g)", (double)c->std);
        return NULL;
    }
    for (int i = 0; i < n; i++)
        if (idx[i] < 0 || idx[i] >= d->n) {
            ferc_errf(e, "loader: image index %d out of range (dataset has %d)", idx[i], d->n);
            return NULL;
        }
    ferc_loader *l = calloc(1, sizeof *l);
    if (!l) {
        ferc_errf(e, "loader: out of memory");
        return NULL;
    }
    l->d = d;
    l->cfg = *c;
    l->cfg.text = NULL;
    l->n = n;
    l->batch = batch;
    l->nb = (n + batch - 1) / batch;
    l->train = train != 0;
    l->size = d->size;
    l->idx = malloc(sizeof(int) * (size_t)(n ? n : 1));
    l->order = malloc(sizeof(int) * (size_t)(n ? n : 1));
    int ok = l->idx && l->order;
    const size_t isz = (size_t)d->size * d->size;
    for (int i = 0; ok && i < 2; i++) {
        l->s[i].x = malloc(sizeof(float) * isz * (size_t)batch);
        l->s[i].y = malloc(sizeof(int) * (size_t)batch);
        l->s[i].ids = malloc(sizeof(int) * (size_t)batch);
        ok = l->s[i].x && l->s[i].y && l->s[i].ids;
    }
    if (!ok) {
        loader_release(l);
        ferc_errf(e, "loader: out of memory for batches of %d", batch);
        return NULL;
    }
    if (n)
        memcpy(l->idx, idx, sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++)
        l->order[i] = i;
    /* Not started: nothing to produce or return until ferc_loader_start. */
    l->next_produce = l->next_consume = l->nb;
    l->held = -1;
    if (pthread_mutex_init(&l->mu, NULL)) {
        loader_release(l);
        ferc_errf(e, "loader: cannot create mutex");
        return NULL;
    }
    if (pthread_cond_init(&l->cv, NULL)) {
        pthread_mutex_destroy(&l->mu);
        loader_release(l);
        ferc_errf(e, "loader: cannot create condition variable");
        return NULL;
    }
    if (pthread_create(&l->th, NULL, worker, l)) {
        pthread_cond_destroy(&l->cv);
        pthread_mutex_destroy(&l->mu);
        loader_release(l);
        ferc_errf(e, "loader: cannot start thread");
        return NULL;
    }
    return l;
}

void ferc_loader_free(ferc_loader *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    l->quit = 1;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->th, NULL); /* a batch in progress is finished first */
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->mu);
    loader_release(l);
}

int ferc_loader_batches(const ferc_loader *l) { return l->nb; }

void ferc_loader_start(ferc_loader *l, uint64_t seed, int epoch, int first)
{
    if (first < 0)
        first = 0;
    if (first > l->nb)
        first = l->nb;
    pthread_mutex_lock(&l->mu);
    l->gen++;
    for (int i = 0; i < 2; i++)
        if (l->s[i].state != BUSY) /* a busy slot is freed by the thread */
            l->s[i].state = FREE;
    l->held = -1;
    for (int i = 0; i < l->n; i++)
        l->order[i] = i;
    if (l->train) {
        ferc_rng r;
        ferc_rng_seed(&r, order_seed(seed, epoch));
        ferc_rng_shuffle(&r, l->order, l->n);
    }
    l->seed = seed;
    l->epoch = epoch;
    l->next_produce = l->next_consume = first;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

int ferc_loader_next(ferc_loader *l, const float **x, const int **y, const int **ids)
{
    pthread_mutex_lock(&l->mu);
    if (l->held >= 0) {
        l->s[l->held].state = FREE;
        l->held = -1;
        pthread_cond_broadcast(&l->cv);
    }
    if (l->next_consume >= l->nb) {
        pthread_mutex_unlock(&l->mu);
        *x = NULL;
        *y = NULL;
        if (ids)
            *ids = NULL;
        return 0;
    }
    const int b = l->next_consume;
    slot *sl = &l->s[b % 2];
    while (!(sl->state == READY && sl->b == b && sl->gen == l->gen))
        pthread_cond_wait(&l->cv, &l->mu);
    sl->state = HELD;
    l->held = b % 2;
    l->next_consume++;
    pthread_mutex_unlock(&l->mu);
    *x = sl->x;
    *y = sl->y;
    if (ids)
        *ids = sl->ids;
    return sl->cnt;
}
