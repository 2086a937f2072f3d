/* stats.c: report statistics (see stats.h; docs/reports.md explains each
 * figure). */
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void stats_wilson(double s, double n, double z, double *lo, double *hi)
{
    double p, z2, den, mid, half;
    if (n <= 0) {
        *lo = 0;
        *hi = 1;
        return;
    }
    p = s / n;
    z2 = z * z;
    den = 1 + z2 / n;
    mid = (p + z2 / (2 * n)) / den;
    half = z * sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / den;
    *lo = mid - half < 0 ? 0 : mid - half;
    *hi = mid + half > 1 ? 1 : mid + half;
}

/* ---- Bradley-Terry ---- */

/* p := next scaled so that the log-strengths of the models with one (next
 * > 0) average 0; the largest change of a log-strength. */
static double strengths_step(int m, const double *next, double *p)
{
    double logsum = 0, change = 0;
    int i, active = 0;
    for (i = 0; i < m; i++)
        if (next[i] > 0) {
            logsum += log(next[i]);
            active++;
        }
    for (i = 0; i < m; i++) {
        double v = active > 0 ? next[i] / exp(logsum / active) : 1, d = fabs(log(v) - log(p[i]));
        change = d > change ? d : change;
        p[i] = v;
    }
    return change;
}

/* Strengths p to Elo ratings, mean 1000 over the models that played (in
 * the counts w, and the ties t when not NULL); 1000 for the others. */
static void to_elo(int m, const double *p, const double *w, const double *t, double *rating)
{
    double mean = 0;
    int i, j, n = 0;
    for (i = 0; i < m; i++) {
        double games = 0;
        for (j = 0; j < m; j++)
            games += w[i * m + j] + w[j * m + i] + (t != NULL ? t[i * m + j] : 0);
        rating[i] = games > 0 ? 400 * log10(p[i]) : NAN;
        if (games > 0) {
            mean += rating[i];
            n++;
        }
    }
    for (i = 0; i < m; i++)
        rating[i] = isnan(rating[i]) ? 1000 : rating[i] - mean / n + 1000;
}

static int bt_fit(int m, const double *w, double *p)
{
    int it, i, j;
    double *next = malloc(sizeof *next * (size_t)m);
    if (next == NULL)
        return -1;
    for (i = 0; i < m; i++)
        p[i] = 1;
    for (it = 1; it <= 10000; it++) {
        for (i = 0; i < m; i++) {
            double wins = 0, den = 0;
            for (j = 0; j < m; j++) {
                double n = w[i * m + j] + w[j * m + i];
                if (j == i || n == 0)
                    continue;
                wins += w[i * m + j];
                den += n / (p[i] + p[j]);
            }
            next[i] = den > 0 ? wins / den : p[i];
        }
        if (strengths_step(m, next, p) < 1e-10) {
            free(next);
            return it;
        }
    }
    free(next);
    return -1;
}

int stats_bt_groups(int m, const double *w, int *group)
{
    unsigned char *reach = calloc((size_t)m * (size_t)m + 1, 1);
    int *score = calloc((size_t)m + 1, sizeof *score),
        *order = calloc((size_t)m + 1, sizeof *order);
    int i, j, k, n = 0;
    if (reach == NULL || score == NULL || order == NULL) {
        free(reach);
        free(score);
        free(order);
        return -1;
    }
    /* i reaches j when a chain of "scored against" (a win or a tie) leads
     * from i to j; a group is the models that reach one another. */
    for (i = 0; i < m; i++) {
        reach[i * m + i] = 1;
        for (j = 0; j < m; j++)
            if (i != j && w[i * m + j] > 0)
                reach[i * m + j] = 1;
    }
    for (k = 0; k < m; k++)
        for (i = 0; i < m; i++)
            if (reach[i * m + k])
                for (j = 0; j < m; j++)
                    reach[i * m + j] |= reach[k * m + j];
    for (i = 0; i < m; i++) {
        group[i] = -1;
        for (j = 0; j < m; j++)
            score[i] += reach[i * m + j];
    }
    /* Groups strongest first: a group that reaches more models comes before
     * the ones it reaches (which do not reach it back). */
    for (i = 0; i < m; i++)
        order[i] = i;
    for (i = 1; i < m; i++)
        for (j = i; j > 0 && score[order[j]] > score[order[j - 1]]; j--) {
            k = order[j];
            order[j] = order[j - 1];
            order[j - 1] = k;
        }
    for (k = 0; k < m; k++) {
        i = order[k];
        if (group[i] >= 0)
            continue;
        for (j = 0; j < m; j++)
            if (reach[i * m + j] && reach[j * m + i])
                group[j] = n;
        n++;
    }
    free(reach);
    free(score);
    free(order);
    return n;
}

/* Whether the scores w (as for stats_bt) have no finite maximum-likelihood
 * ratings; -1 when out of memory. */
static int needs_prior(int m, const double *w)
{
    int i, j, needs = 0;
    /* A model that never won or never lost has no finite strength. */
    for (i = 0; i < m; i++) {
        double won = 0, lost = 0;
        for (j = 0; j < m; j++) {
            won += w[i * m + j];
            lost += w[j * m + i];
        }
        if (won + lost > 0 && (won == 0 || lost == 0))
            needs = 1;
    }
    /* Nor does any when the models fall into groups one of which won every
     * comparison with another (the graph of who scored against whom is not
     * strongly connected), even if each model won and lost somewhere. */
    if (!needs) {
        int *g = malloc(sizeof *g * (size_t)m), ng;
        if (g == NULL)
            return -1;
        ng = stats_bt_groups(m, w, g);
        for (i = 0; i < m && ng > 1; i++) {
            double n = 0;
            for (j = 0; j < m; j++)
                n += w[i * m + j] + w[j * m + i];
            if (n == 0)
                ng--; /* a model that never played is a group of its own */
        }
        needs = ng > 1;
        free(g);
    }
    return needs;
}

int stats_bt(int m, const double *w, double *rating, int *prior)
{
    double *p = malloc(sizeof *p * (size_t)m), *wp = NULL;
    const double *use = w;
    int i, j, it, needs;
    *prior = 0;
    if (p == NULL)
        return -1;
    if ((needs = needs_prior(m, w)) < 0) {
        free(p);
        return -1;
    }
    if (needs) {
        wp = malloc(sizeof *wp * (size_t)m * (size_t)m);
        if (wp == NULL) {
            free(p);
            return -1;
        }
        for (i = 0; i < m * m; i++)
            wp[i] = w[i];
        for (i = 0; i < m; i++)
            for (j = 0; j < m; j++)
                if (i != j && w[i * m + j] + w[j * m + i] > 0)
                    wp[i * m + j] += 0.5;
        use = wp;
        *prior = 1;
    }
    it = bt_fit(m, use, p);
    to_elo(m, p, use, NULL, rating);
    free(wp);
    free(p);
    return it;
}

static double gamma_draw(struct stats_rng *r, double a);

/* Davidson's model by a fixed point of its likelihood equations: for i,
 * p_i = (W_i + T_i / 2) / sum_j n_ij (1 + nu / 2 sqrt(p_j / p_i)) / D_ij
 * and nu = T / sum_{i<j} n_ij sqrt(p_i p_j) / D_ij, with D_ij = p_i + p_j +
 * nu sqrt(p_i p_j). */
int stats_davidson(int m, const double *w, const double *t, double *rating, double *nu, int *prior)
{
    double *p = malloc(sizeof *p * (size_t)m), *next = malloc(sizeof *next * (size_t)m);
    double *sc = malloc(sizeof *sc * (size_t)m * (size_t)m),
           *ww = malloc(sizeof *ww * (size_t)m * (size_t)m);
    double tt = 0, v;
    int i, j, it, needs, done = -1;
    *prior = 0;
    *nu = NAN; /* also when the fit cannot start */
    if (p == NULL || next == NULL || sc == NULL || ww == NULL)
        goto out;
    for (i = 0; i < m * m; i++) {
        sc[i] = w[i] + 0.5 * t[i];
        ww[i] = w[i];
    }
    if ((needs = needs_prior(m, sc)) < 0)
        goto out;
    if (needs) {
        *prior = 1;
        for (i = 0; i < m; i++)
            for (j = 0; j < m; j++)
                if (i != j && w[i * m + j] + w[j * m + i] + t[i * m + j] > 0)
                    ww[i * m + j] += 0.5;
    }
    for (i = 0; i < m; i++)
        for (j = i + 1; j < m; j++)
            tt += t[i * m + j];
    for (i = 0; i < m; i++)
        p[i] = 1;
    v = tt > 0 ? 1 : 0;
    for (it = 1; it <= 10000 && done < 0; it++) {
        double change, den_nu = 0, nv;
        for (i = 0; i < m; i++) {
            double num = 0, den = 0;
            for (j = 0; j < m; j++) {
                double n = ww[i * m + j] + ww[j * m + i] + t[i * m + j], g;
                if (j == i || n == 0)
                    continue;
                g = sqrt(p[i] * p[j]);
                num += ww[i * m + j] + 0.5 * t[i * m + j];
                den += n * (1 + 0.5 * v * sqrt(p[j] / p[i])) / (p[i] + p[j] + v * g);
            }
            next[i] = den > 0 ? num / den : p[i];
        }
        change = strengths_step(m, next, p);
        for (i = 0; i < m; i++)
            for (j = i + 1; j < m; j++) {
                double n = ww[i * m + j] + ww[j * m + i] + t[i * m + j], g = sqrt(p[i] * p[j]);
                if (n > 0)
                    den_nu += n * g / (p[i] + p[j] + v * g);
            }
        nv = tt > 0 && den_nu > 0 ? tt / den_nu : 0;
        if (v > 0 && nv > 0)
            change = fabs(log(nv) - log(v)) > change ? fabs(log(nv) - log(v)) : change;
        v = nv;
        if (change < 1e-10)
            done = it;
    }
    to_elo(m, p, ww, t, rating);
    *nu = v;
out:
    free(p);
    free(next);
    free(sc);
    free(ww);
    return done;
}

int stats_davidson_draws(int m, const double *w, const double *t, int samples, uint64_t seed,
                         double *draws, double *nus)
{
    struct stats_rng r;
    /* Zeroed: the draws fill pairs i != j; the fit reads the diagonal too. */
    double *dw = calloc((size_t)m * (size_t)m, sizeof *dw),
           *dt = calloc((size_t)m * (size_t)m, sizeof *dt);
    double *rt = malloc(sizeof *rt * (size_t)m), nu;
    int k, i, j, prior, failed = 0;
    if (dw == NULL || dt == NULL || rt == NULL) {
        free(dw);
        free(dt);
        free(rt);
        return -1;
    }
    stats_rng_seed(&r, seed);
    for (k = 0; k < samples; k++) {
        for (i = 0; i < m * m; i++)
            dw[i] = dt[i] = 0;
        for (i = 0; i < m; i++)
            for (j = i + 1; j < m; j++) {
                double a = w[i * m + j], b = w[j * m + i], c = t[i * m + j], n = a + b + c, x, y, z;
                if (n <= 0)
                    continue;
                /* Dirichlet(a + 1/2, b + 1/2, c + 1/2) as three gammas. */
                x = gamma_draw(&r, a + 0.5);
                y = gamma_draw(&r, b + 0.5);
                z = gamma_draw(&r, c + 0.5);
                if (x + y + z <= 0)
                    continue;
                dw[i * m + j] = n * x / (x + y + z);
                dw[j * m + i] = n * y / (x + y + z);
                dt[i * m + j] = dt[j * m + i] = n * z / (x + y + z);
            }
        failed += stats_davidson(m, dw, dt, rt, &nu, &prior) < 0;
        memcpy(draws + (size_t)k * (size_t)m, rt, sizeof *rt * (size_t)m);
        if (nus != NULL)
            nus[k] = nu;
    }
    free(dw);
    free(dt);
    free(rt);
    return failed;
}

int stats_dawid_skene(const int *off, const int *lab, const unsigned char *val, int units, int labs,
                      int k, double *prior, double *conf, double *post)
{
    int it, i, u, c, x, done = -1;
    double lp[256];
    if (k < 1 || k > 256)
        return -2;
    /* Start from the vote shares of each unit. */
    for (u = 0; u < units; u++) {
        int m = off[u + 1] - off[u];
        for (c = 0; c < k; c++)
            post[u * k + c] = m > 0 ? 0 : 1.0 / k;
        for (i = off[u]; i < off[u + 1]; i++)
            post[u * k + val[i]] += 1.0 / m;
    }
    for (it = 1; it <= 200 && done < 0; it++) {
        double change = 0;
        /* M: the class shares, and each labeler's confusion (row: the true
         * class, column: what they said), smoothed by 0.01. */
        for (c = 0; c < k; c++)
            prior[c] = 0;
        for (u = 0; u < units; u++)
            for (c = 0; c < k; c++)
                prior[c] += post[u * k + c] / units;
        for (i = 0; i < labs * k * k; i++)
            conf[i] = 0.01;
        for (u = 0; u < units; u++)
            for (i = off[u]; i < off[u + 1]; i++)
                for (c = 0; c < k; c++)
                    conf[((size_t)lab[i] * (size_t)k + (size_t)c) * (size_t)k + val[i]] +=
                        post[u * k + c];
        for (i = 0; i < labs * k; i++) {
            double sum = 0;
            for (x = 0; x < k; x++)
                sum += conf[i * k + x];
            for (x = 0; x < k; x++)
                conf[i * k + x] /= sum;
        }
        /* E: each unit's class given its labels, in logs, unit by unit. */
        for (u = 0; u < units; u++) {
            double top, sum = 0;
            for (c = 0; c < k; c++)
                lp[c] = log(prior[c] > 0 ? prior[c] : 1e-300);
            for (i = off[u]; i < off[u + 1]; i++)
                for (c = 0; c < k; c++)
                    lp[c] +=
                        log(conf[((size_t)lab[i] * (size_t)k + (size_t)c) * (size_t)k + val[i]]);
            top = lp[0];
            for (c = 1; c < k; c++)
                top = lp[c] > top ? lp[c] : top;
            for (c = 0; c < k; c++)
                sum += exp(lp[c] - top);
            for (c = 0; c < k; c++) {
                double v = exp(lp[c] - top) / sum;
                change = fabs(v - post[u * k + c]) > change ? fabs(v - post[u * k + c]) : change;
                post[u * k + c] = v;
            }
        }
        if (change < 1e-6)
            done = it;
    }
    return done;
}

/* ---- random numbers ---- */

void stats_rng_seed(struct stats_rng *r, uint64_t seed)
{
    r->s = seed;
}

uint64_t stats_rng_next(struct stats_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double stats_rng_unit(struct stats_rng *r)
{
    return (double)(stats_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

static double normal(struct stats_rng *r)
{
    /* Box-Muller; one of the pair is enough here. */
    double u = stats_rng_unit(r), v = stats_rng_unit(r);
    return sqrt(-2 * log(1 - u)) * cos(2 * M_PI * v);
}

int64_t stats_binomial(struct stats_rng *r, int64_t n, double p)
{
    int64_t k = 0, i;
    double x;
    if (n <= 0 || p <= 0)
        return 0;
    if (p >= 1)
        return n;
    if (n < 64) {
        for (i = 0; i < n; i++)
            k += stats_rng_unit(r) < p;
        return k;
    }
    x = floor(n * p + sqrt(n * p * (1 - p)) * normal(r) + 0.5);
    return x < 0 ? 0 : x > (double)n ? n : (int64_t)x;
}

/* Marsaglia and Tsang's method; shapes below 1 through shape + 1. */
static double gamma_draw(struct stats_rng *r, double a)
{
    double d, c, x, v, u;
    if (a < 1)
        return gamma_draw(r, a + 1) * pow(1 - stats_rng_unit(r), 1 / a);
    d = a - 1.0 / 3;
    c = 1 / sqrt(9 * d);
    for (;;) {
        do {
            x = normal(r);
            v = 1 + c * x;
        } while (v <= 0);
        v = v * v * v;
        u = stats_rng_unit(r);
        if (u < 1 - 0.0331 * x * x * x * x || log(u) < 0.5 * x * x + d * (1 - v + log(v)))
            return d * v;
    }
}

double stats_beta(struct stats_rng *r, double a, double b)
{
    double x = gamma_draw(r, a), y = gamma_draw(r, b);
    return x + y > 0 ? x / (x + y) : 0.5;
}

void stats_cluster_add(struct stats_cluster *c, double s, double n)
{
    if (n <= 0)
        return;
    c->k += 1;
    c->n += n;
    c->s += s;
    c->nn += n * n;
    c->ss += s * s;
    c->sn += s * n;
}

double stats_cluster_deff(const struct stats_cluster *c)
{
    double p, vb, vc, most, d;
    if (c->n <= 0)
        return 1;
    most = c->nn / c->n;
    if (c->k < 2)
        return most;
    p = c->s / c->n;
    vb = p * (1 - p) / c->n;
    vc = c->k / (c->k - 1) * (c->ss - 2 * p * c->sn + p * p * c->nn) / (c->n * c->n);
    if (vb <= 0)
        return most;
    d = vc / vb;
    return d < 1 ? 1 : d > most ? most : d;
}

void stats_cluster_wilson(const struct stats_cluster *c, double z, double *lo, double *hi,
                          double *deff)
{
    double d = stats_cluster_deff(c);
    if (deff != NULL)
        *deff = d;
    stats_wilson(c->s / d, c->n / d, z, lo, hi);
}

double stats_cluster_z95(const struct stats_cluster *c)
{
    return c->k >= 2 ? stats_t_quantile(0.975, c->k - 1) : 1.959963984540054;
}

int stats_bt_draws(int m, const double *s, const double *n, int samples, uint64_t seed,
                   double *draws)
{
    struct stats_rng r;
    double *w = malloc(sizeof *w * (size_t)m * (size_t)m), *rt = malloc(sizeof *rt * (size_t)m);
    int k, i, j, prior, failed = 0;
    if (w == NULL || rt == NULL) {
        free(w);
        free(rt);
        return -1;
    }
    stats_rng_seed(&r, seed);
    for (k = 0; k < samples; k++) {
        for (i = 0; i < m * m; i++)
            w[i] = 0;
        for (i = 0; i < m; i++)
            for (j = i + 1; j < m; j++) {
                double nn = n[i * m + j], ss = s[i * m + j], q;
                if (nn <= 0)
                    continue;
                q = stats_beta(&r, ss + 0.5, nn - ss + 0.5);
                w[i * m + j] = q * nn;
                w[j * m + i] = (1 - q) * nn;
            }
        failed += stats_bt(m, w, rt, &prior) < 0;
        memcpy(draws + (size_t)k * (size_t)m, rt, sizeof *rt * (size_t)m);
    }
    free(w);
    free(rt);
    return failed;
}

double stats_binom_test_half(int64_t k, int64_t n)
{
    int64_t lo = k < n - k ? k : n - k, i;
    double tail = 0;
    if (n <= 0)
        return 1;
    if (2 * lo == n)
        return 1;
    for (i = 0; i <= lo; i++)
        tail += exp(lgamma((double)n + 1) - lgamma((double)i + 1) - lgamma((double)(n - i) + 1) -
                    (double)n * log(2.0));
    return fmin(1, 2 * tail);
}

/* The continued fraction of the incomplete beta (Numerical Recipes' betacf,
 * by the modified Lentz method). */
static double betacf(double a, double b, double x)
{
    double c = 1, d = 1 - (a + b) * x / (a + 1), h, del, aa;
    int m;
    if (fabs(d) < 1e-300)
        d = 1e-300;
    d = 1 / d;
    h = d;
    for (m = 1; m <= 300; m++) {
        int m2 = 2 * m;
        aa = m * (b - m) * x / ((a - 1 + m2) * (a + m2));
        d = 1 + aa * d;
        d = fabs(d) < 1e-300 ? 1e-300 : d;
        c = 1 + aa / c;
        c = fabs(c) < 1e-300 ? 1e-300 : c;
        d = 1 / d;
        h *= d * c;
        aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + 1 + m2));
        d = 1 + aa * d;
        d = fabs(d) < 1e-300 ? 1e-300 : d;
        c = 1 + aa / c;
        c = fabs(c) < 1e-300 ? 1e-300 : c;
        d = 1 / d;
        del = d * c;
        h *= del;
        if (fabs(del - 1) < 1e-15)
            break;
    }
    return h;
}

double stats_ibeta(double a, double b, double x)
{
    double front;
    if (x <= 0)
        return 0;
    if (x >= 1)
        return 1;
    front = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log(1 - x));
    return x < (a + 1) / (a + b + 2) ? front * betacf(a, b, x) / a
                                     : 1 - front * betacf(b, a, 1 - x) / b;
}

double stats_t_sf(double t, double df)
{
    double tail = 0.5 * stats_ibeta(df / 2, 0.5, df / (df + t * t));
    return t >= 0 ? tail : 1 - tail;
}

double stats_t_quantile(double p, double df)
{
    double lo = 0, hi = 1e6, mid;
    int i;
    if (p <= 0.5)
        return p == 0.5 ? 0 : -stats_t_quantile(1 - p, df);
    for (i = 0; i < 200; i++) {
        mid = (lo + hi) / 2;
        if (1 - stats_t_sf(mid, df) < p)
            lo = mid;
        else
            hi = mid;
    }
    return (lo + hi) / 2;
}

static int cmp_abs(const void *x, const void *y)
{
    double a = fabs(*(const double *)x), b = fabs(*(const double *)y);
    return a < b ? -1 : a > b;
}

int stats_wilcoxon(double *d, int n, double *w, double *z, double *p, int *used)
{
    int i, j, k = 0;
    double wp = 0, ties = 0, mean, var;
    for (i = 0; i < n; i++)
        if (d[i] != 0)
            d[k++] = d[i];
    *used = k;
    if (k == 0)
        return -1;
    qsort(d, (size_t)k, sizeof *d, cmp_abs);
    for (i = 0; i < k; i = j) {
        double rank;
        for (j = i; j < k && fabs(d[j]) == fabs(d[i]); j++)
            ;
        rank = (i + 1 + j) / 2.0; /* the mean of ranks i+1 .. j */
        ties += (double)(j - i) * (double)(j - i) * (double)(j - i) - (double)(j - i);
        for (int t = i; t < j; t++)
            if (d[t] > 0)
                wp += rank;
    }
    mean = k * (k + 1) / 4.0;
    var = k * (k + 1) * (2.0 * k + 1) / 24.0 - ties / 48.0;
    *w = wp;
    if (var <= 0)
        return -1;
    /* With the continuity correction, toward the mean. */
    *z = (wp - mean - (wp > mean ? 0.5 : wp < mean ? -0.5 : 0)) / sqrt(var);
    *p = fmin(1, 2 * stats_normal_sf(fabs(*z)));
    return 0;
}

double stats_normal_sf(double z)
{
    return 0.5 * erfc(z / sqrt(2));
}

struct pidx {
    double p;
    int i;
};

static int cmp_pidx(const void *a, const void *b)
{
    const struct pidx *x = a, *y = b;
    return x->p < y->p ? -1 : x->p > y->p ? 1 : x->i - y->i;
}

void stats_holm(const double *p, int n, double *adj)
{
    struct pidx *o = malloc(sizeof *o * (size_t)(n > 0 ? n : 1));
    double run = 0;
    int i;
    if (o == NULL) {
        for (i = 0; i < n; i++)
            adj[i] = 1;
        return;
    }
    for (i = 0; i < n; i++)
        o[i] = (struct pidx){p[i], i};
    qsort(o, (size_t)n, sizeof *o, cmp_pidx);
    for (i = 0; i < n; i++) {
        double v = (double)(n - i) * o[i].p;
        if (v > 1)
            v = 1;
        if (v > run)
            run = v;
        adj[o[i].i] = run;
    }
    free(o);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double stats_quantile(const double *v, int n, double q)
{
    double h = (n - 1) * q;
    int i = (int)floor(h);
    if (n == 0)
        return NAN;
    if (i >= n - 1)
        return v[n - 1];
    return v[i] + (h - i) * (v[i + 1] - v[i]);
}

void stats_interval95(double *v, int n, double *lo, double *hi)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    *lo = stats_quantile(v, n, 0.025);
    *hi = stats_quantile(v, n, 0.975);
}

/* ---- agreement ---- */

int stats_agree_init(struct stats_agree *a, const double *values, int nv)
{
    memset(a, 0, sizeof *a);
    a->values = malloc(sizeof *a->values * (size_t)(nv > 0 ? nv : 1));
    a->o = calloc((size_t)(nv > 0 ? nv * nv : 1), sizeof *a->o);
    a->cat = calloc((size_t)(nv > 0 ? nv : 1), sizeof *a->cat);
    if (a->values == NULL || a->o == NULL || a->cat == NULL) {
        stats_agree_free(a);
        return -1;
    }
    memcpy(a->values, values, sizeof *values * (size_t)nv);
    qsort(a->values, (size_t)nv, sizeof *a->values, cmp_double);
    a->nv = nv;
    a->raters = -1;
    a->same_raters = 1;
    return 0;
}

void stats_agree_free(struct stats_agree *a)
{
    free(a->values);
    free(a->o);
    free(a->cat);
    memset(a, 0, sizeof *a);
}

void stats_agree_unit(struct stats_agree *a, const int *idx, int m)
{
    stats_agree_units(a, idx, m, 1);
}

void stats_agree_units(struct stats_agree *a, const int *idx, int m, int w)
{
    int i, j, agree = 0, c;
    double p = 0;
    if (m < 2 || w < 1)
        return;
    a->units += w;
    a->pairable += m * w;
    for (i = 0; i < m; i++)
        for (j = 0; j < m; j++)
            if (i != j) {
                a->o[idx[i] * a->nv + idx[j]] += (double)w / (m - 1);
                agree += idx[i] == idx[j];
            }
    a->pct_sum += w * (double)agree / ((double)m * (m - 1));
    /* Fleiss: this unit's P_i from its category counts. */
    if (a->raters < 0)
        a->raters = m;
    if (m != a->raters)
        a->same_raters = 0;
    for (c = 0; c < a->nv; c++) {
        int n = 0;
        for (i = 0; i < m; i++)
            n += idx[i] == c;
        p += (double)n * (n - 1);
        a->cat[c] += (double)n * w;
    }
    a->p_sum += w * p / ((double)m * (m - 1));
}

int stats_agree_alpha(const struct stats_agree *a, enum alpha_level level, double *alpha)
{
    int nv = a->nv, c, d;
    double n = 0, num = 0, den = 0, *nc = calloc((size_t)nv + 1, sizeof *nc),
           *cum = calloc((size_t)nv + 1, sizeof *cum);
    int rc = -1;
    if (nc == NULL || cum == NULL)
        goto out;
    for (c = 0; c < nv; c++) {
        for (d = 0; d < nv; d++)
            nc[c] += a->o[c * nv + d];
        n += nc[c];
        cum[c + 1] = cum[c] + nc[c];
    }
    for (c = 0; c < nv; c++)
        for (d = 0; d < nv; d++) {
            double delta;
            if (c == d || (nc[c] == 0 && nc[d] == 0))
                continue;
            if (level == ALPHA_NOMINAL) {
                delta = 1;
            } else if (level == ALPHA_INTERVAL) {
                delta = (a->values[c] - a->values[d]) * (a->values[c] - a->values[d]);
            } else {
                /* Ordinal: the marginals of the values from c to d. */
                int g0 = c < d ? c : d, g1 = c < d ? d : c;
                double s = cum[g1 + 1] - cum[g0] - (nc[c] + nc[d]) / 2;
                delta = s * s;
            }
            num += a->o[c * nv + d] * delta;
            den += nc[c] * nc[d] * delta;
        }
    if (den > 0 && n > 1) {
        *alpha = 1 - (n - 1) * num / den;
        rc = 0;
    }
out:
    free(nc);
    free(cum);
    return rc;
}

int stats_agree_fleiss(const struct stats_agree *a, double *kappa)
{
    double pe = 0, total = 0;
    int c;
    if (!a->same_raters || a->units == 0)
        return -1;
    for (c = 0; c < a->nv; c++)
        total += a->cat[c];
    for (c = 0; c < a->nv; c++)
        pe += (a->cat[c] / total) * (a->cat[c] / total);
    if (pe >= 1)
        return -1;
    *kappa = (a->p_sum / a->units - pe) / (1 - pe);
    return 0;
}

double stats_agree_percent(const struct stats_agree *a)
{
    return a->units > 0 ? a->pct_sum / a->units : NAN;
}

int stats_alpha(const double *v, int units, int coders, enum alpha_level level, double *alpha,
                int *pairable)
{
    struct stats_agree acc;
    double *vals;
    int nv = 0, u, c, a, b, rc = -1, idx[256];
    *pairable = 0;
    /* The distinct values of the pairable units, sorted. */
    vals = malloc(sizeof *vals * (size_t)units * (size_t)coders + sizeof *vals);
    if (vals == NULL)
        return -1;
    for (u = 0; u < units; u++) {
        int m = 0;
        for (c = 0; c < coders; c++)
            m += !isnan(v[u * coders + c]);
        for (c = 0; c < coders && m >= 2; c++)
            if (!isnan(v[u * coders + c]))
                vals[nv++] = v[u * coders + c];
    }
    qsort(vals, (size_t)nv, sizeof *vals, cmp_double);
    for (a = 0, b = 0; a < nv; a++)
        if (b == 0 || vals[a] != vals[b - 1])
            vals[b++] = vals[a];
    nv = b;
    if (nv < 2 || stats_agree_init(&acc, vals, nv) != 0) {
        free(vals);
        return -1; /* nothing pairable, or one value only: undefined */
    }
    for (u = 0; u < units; u++) {
        int m = 0;
        for (c = 0; c < coders && m < 256; c++) {
            double x = v[u * coders + c];
            int lo = 0, hi = nv - 1;
            if (isnan(x))
                continue;
            while (lo < hi) {
                int mid = (lo + hi) / 2;
                if (vals[mid] < x)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            idx[m++] = lo;
        }
        stats_agree_unit(&acc, idx, m);
    }
    *pairable = acc.pairable;
    rc = stats_agree_alpha(&acc, level, alpha);
    stats_agree_free(&acc);
    free(vals);
    return rc;
}

int stats_fleiss(const int *counts, int items, int k, double *kappa)
{
    double *pj = calloc((size_t)k, sizeof *pj), pbar = 0, pe = 0;
    int i, c, raters = -1;
    if (pj == NULL || items < 1) {
        free(pj);
        return -1;
    }
    for (i = 0; i < items; i++) {
        int n = 0;
        double agree = 0;
        for (c = 0; c < k; c++)
            n += counts[i * k + c];
        if (raters < 0)
            raters = n;
        if (n != raters || n < 2) {
            free(pj);
            return -1;
        }
        for (c = 0; c < k; c++) {
            agree += (double)counts[i * k + c] * (counts[i * k + c] - 1);
            pj[c] += counts[i * k + c];
        }
        pbar += agree / ((double)n * (n - 1));
    }
    pbar /= items;
    for (c = 0; c < k; c++) {
        pj[c] /= (double)items * raters;
        pe += pj[c] * pj[c];
    }
    free(pj);
    if (pe >= 1)
        return -1;
    *kappa = (pbar - pe) / (1 - pe);
    return 0;
}

double stats_median(double *v, int n)
{
    if (n == 0)
        return NAN;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
