/* stats.h: the statistics of human-evaluation reports (docs/reports.md):
 * Wilson intervals (on clustered counts too), Bradley-Terry and Davidson
 * ratings on the Elo scale with seeded draws for their intervals, tests
 * (Holm, binomial, Wilcoxon, Student's t), Dawid-Skene, Krippendorff's
 * alpha, Fleiss' kappa, and small helpers. Pure functions of their inputs: no I/O, no globals, so
 * the same data (and seed) always gives the same figures. */
#ifndef ARBITER_STATS_H
#define ARBITER_STATS_H

#include <stdint.h>

/* The Wilson score interval of s successes in n trials at normal quantile
 * z (1.96 for 95%). n == 0 gives [0, 1]. */
void stats_wilson(double s, double n, double z, double *lo, double *hi);

/* Bradley-Terry maximum likelihood by the MM algorithm (Hunter 2004).
 * w[i * m + j]: how often model i beat model j (a tie counts half to
 * each). Ratings on the Elo scale: 400 points per factor of 10 in the odds,
 * mean 1000, into rating[0..m). A model that never won (or never lost)
 * has no finite estimate; then every pair that met gets one half-win each
 * way as a prior (and *prior is set to 1). Models that never met anyone get
 * 1000. Returns the iterations used, or -1 when it did not converge. */
int stats_bt(int m, const double *w, double *rating, int *prior);

/* Davidson's model of ties: P(i beats j) = p_i / D, P(tie) = nu sqrt(p_i
 * p_j) / D, D = p_i + p_j + nu sqrt(p_i p_j). w[i * m + j]: i's wins over
 * j (ties not counted), t[i * m + j] (symmetric): their ties. Ratings on
 * the Elo scale (mean 1000) and nu; with the same prior as stats_bt when
 * there is no finite estimate. Returns the iterations, or -1. */
int stats_davidson(int m, const double *w, const double *t, double *rating, double *nu, int *prior);
/* Draws for intervals, as stats_bt_draws: each pair's wins, losses and
 * ties (effective counts) redrawn from Dirichlet(w + 1/2, l + 1/2, t + 1/2),
 * refitted; nu of each draw into nus (may be NULL). */
int stats_davidson_draws(int m, const double *w, const double *t, int samples, uint64_t seed,
                         double *draws, double *nus);

/* Dawid and Skene's labeler model by EM over `units` units: unit u's
 * labels are lab[i] (the labeler, 0..labs) and val[i] (the class, 0..k,
 * k <= 256) for i in off[u] .. off[u + 1]. Estimates the class shares
 * prior[k], each labeler's confusion conf[(l * k + true) * k + said] (rows
 * sum to 1; smoothed by 0.01 a cell) and each unit's class probabilities
 * post[u * k + c]. Starts from the vote shares. Returns the iterations to
 * converge (a change below 1e-6), -1 when 200 did not, -2 for k > 256. */
int stats_dawid_skene(const int *off, const int *lab, const unsigned char *val, int units, int labs,
                      int k, double *prior, double *conf, double *post);

/* The groups of models by who scored against whom (w as for stats_bt): i
 * and j share a group when each reaches the other by a chain of wins or
 * ties. group[i] numbers them strongest first: a group never lost (nor
 * tied) to a later one. One group (per connected set of models) means the
 * ratings have a finite maximum-likelihood estimate; several mean one
 * group won every comparison with another, and how much better it is
 * cannot be estimated. Returns the number of groups, or -1. */
int stats_bt_groups(int m, const double *w, int *group);

/* A deterministic random stream (splitmix64). */
struct stats_rng {
    uint64_t s;
};
void stats_rng_seed(struct stats_rng *r, uint64_t seed);
uint64_t stats_rng_next(struct stats_rng *r);
double stats_rng_unit(struct stats_rng *r); /* in [0, 1) */

/* A draw from Binomial(n, p): exact below n = 64 (a sum of Bernoulli
 * draws), else the normal approximation rounded and clamped to [0, n]. */
int64_t stats_binomial(struct stats_rng *r, int64_t n, double p);

/* A draw from Beta(a, b), a, b > 0. */
double stats_beta(struct stats_rng *r, double a, double b);

/* A share (successes s of n, e.g. wins + ties / 2 of comparisons) whose
 * trials come in clusters that need not be independent: the judgments of
 * one item by several labelers. Accumulated cluster by cluster. */
struct stats_cluster {
    double k, n, s, nn, ss, sn; /* clusters, and sums of n, s, n^2, s^2, s*n */
};
void stats_cluster_add(struct stats_cluster *c, double s, double n);
/* The design effect: the cluster-robust variance of the share (with the
 * small-sample factor k / (k - 1)) over the binomial one, at least 1 and at
 * most sum n^2 / n (a cluster's trials all alike). When nothing varies
 * (a share of 0 or 1) or there is one cluster, that most. */
double stats_cluster_deff(const struct stats_cluster *c);
/* Wilson's interval on the effective counts s / deff of n / deff; the
 * design effect in *deff (may be NULL). */
void stats_cluster_wilson(const struct stats_cluster *c, double z, double *lo, double *hi,
                          double *deff);
/* The quantile for a two-sided 95% interval from c's cluster-robust
 * variance: Student's t with clusters - 1 degrees of freedom (the
 * variance is estimated from that many), z with fewer than 2 clusters. */
double stats_cluster_z95(const struct stats_cluster *c);

/* Draws of Bradley-Terry ratings (Elo scale, mean 1000) for intervals and
 * tests. s[i * m + j]: i's effective share count against j (wins + ties / 2
 * over the pair's design effect), n[i * m + j] (symmetric): the pair's
 * effective comparisons. Each draw takes every pair's share from
 * Beta(s + 1/2, n - s + 1/2) (Jeffreys' prior: a finite sample never gives
 * a certain outcome) and fits the ratings to the drawn shares. The models
 * must be one connected set. draws[k * m + i]; returns the fits that did
 * not converge, or -1. */
int stats_bt_draws(int m, const double *s, const double *n, int samples, uint64_t seed,
                   double *draws);

/* The exact two-sided binomial test of k successes in n trials against a
 * share of 1/2: twice the smaller tail, at most 1. */
double stats_binom_test_half(int64_t k, int64_t n);

/* The regularized incomplete beta I_x(a, b); P(T > t) for Student's t
 * with df degrees of freedom; and its p-quantile. */
double stats_ibeta(double a, double b, double x);
double stats_t_sf(double t, double df);
double stats_t_quantile(double p, double df);

/* Wilcoxon's signed-rank test of paired differences d[0..n) (reordered;
 * zeros dropped, tied ranks averaged): W+ (the sum of the ranks of the
 * positive ones), z by the normal approximation with the tie and
 * continuity corrections, and the two-sided p. *used: the nonzero
 * differences. 0, or -1 when there are none (or they cannot vary). */
int stats_wilcoxon(double *d, int n, double *w, double *z, double *p, int *used);

/* P(Z > z) for a standard normal Z. */
double stats_normal_sf(double z);

/* Holm's step-down adjustment of p[0..n) into adj[0..n). */
void stats_holm(const double *p, int n, double *adj);

/* The q-quantile of sorted v[0..n), linear between order statistics. */
double stats_quantile(const double *v, int n, double q);

/* The 95% percentile interval of v[0..n) (sorted in place): its 2.5th and
 * 97.5th percentiles. */
void stats_interval95(double *v, int n, double *lo, double *hi);

enum alpha_level { ALPHA_NOMINAL, ALPHA_ORDINAL, ALPHA_INTERVAL };

/* Krippendorff's alpha. v[u * coders + c]: the value coder c gave unit u,
 * NAN for none. Units with fewer than 2 values do not count. *pairable:
 * the number of pairable values. 0, or -1 when there is nothing to compare
 * (or no variation at all: alpha is undefined). */
int stats_alpha(const double *v, int units, int coders, enum alpha_level level, double *alpha,
                int *pairable);

/* Agreement, accumulated unit by unit (an item, or an item's response):
 * for Krippendorff's alpha (the coincidence matrix), percent agreement
 * (the share of agreeing pairs of values within a unit, averaged over
 * units) and Fleiss' kappa (when every unit has as many values). Values
 * are indexes into the sorted, distinct `values` of the question. */
struct stats_agree {
    int nv;
    double *values; /* owned copy, sorted ascending */
    double *o;      /* nv x nv coincidences */
    double *cat;    /* Fleiss: values per category, over units */
    double p_sum, pct_sum;
    int units, raters, pairable;
    int same_raters;
};
int stats_agree_init(struct stats_agree *a, const double *values, int nv);
/* One unit: the value indexes idx[0..m) of its m coders; m < 2 is ignored. */
void stats_agree_unit(struct stats_agree *a, const int *idx, int m);
/* The same unit w times. */
void stats_agree_units(struct stats_agree *a, const int *idx, int m, int w);
int stats_agree_alpha(const struct stats_agree *a, enum alpha_level level, double *alpha);
int stats_agree_fleiss(const struct stats_agree *a, double *kappa);
/* NAN when no unit had two values. */
double stats_agree_percent(const struct stats_agree *a);
void stats_agree_free(struct stats_agree *a);

/* Fleiss' kappa. counts[i * k + c]: how many raters put item i in category
 * c; every item must have the same number of raters (>= 2). 0, or -1 when
 * the rater counts differ or kappa is undefined. */
int stats_fleiss(const int *counts, int items, int k, double *kappa);

/* The median of v[0..n) (sorted in place); NAN for n == 0. */
double stats_median(double *v, int n);

#endif
