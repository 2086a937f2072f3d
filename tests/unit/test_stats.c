/* test_stats.c: src/stats.c against published reference values, and
 * cases of our own. */
#include "stats.h"
#include "unit.h"

#include <jansson.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NEAR(x, want, tol) CHECK(fabs((x) - (want)) <= (tol))

/* ---- a simulation of clustered judgments (issue: intervals must hold
 * 93-97% coverage when several labelers judge each item) ----
 * K items, each judged by L labelers; items differ in how clear-cut they
 * are: item k's chance that A wins is p_k ~ Beta(p0 * kappa, (1 - p0) *
 * kappa), so judgments of one item agree more than chance (intra-item
 * correlation 1 / (kappa + 1)). Each replicate estimates A's win rate with
 * a 95% interval, naive (every judgment independent) and cluster-adjusted
 * (stats_cluster_wilson), and A's Bradley-Terry rating with the draws of
 * stats_bt_draws on the effective counts. */
struct sim {
    double naive, cluster, bt;       /* coverage of p0 (rating of p0) */
    double pass_naive, pass_cluster; /* at p0 = 0.5: lower bound above 0.5 */
};

static void simulate(int reps, int bt_reps, int bt_samples, uint64_t seed, struct sim *out)
{
    const int K = 40, L = 3;
    const double kappa = 2;
    struct stats_rng g;
    int rep, k, l, pass;
    double *draws = malloc(sizeof *draws * 2 * (size_t)bt_samples),
           *d0 = malloc(sizeof *d0 * (size_t)bt_samples);
    memset(out, 0, sizeof *out);
    stats_rng_seed(&g, seed);
    for (pass = 0; pass < 2; pass++) {
        double p0 = pass == 0 ? 0.65 : 0.5;
        double truth = 1000 + 200 * log10(p0 / (1 - p0)); /* A's rating, mean 1000 */
        for (rep = 0; rep < reps; rep++) {
            struct stats_cluster c = {0};
            double lo, hi, deff, s = 0;
            for (k = 0; k < K; k++) {
                double pk = stats_beta(&g, p0 * kappa, (1 - p0) * kappa), sk = 0;
                for (l = 0; l < L; l++)
                    sk += stats_rng_unit(&g) < pk;
                stats_cluster_add(&c, sk, L);
                s += sk;
            }
            stats_wilson(s, K * L, 1.959964, &lo, &hi);
            if (pass == 0)
                out->naive += lo <= p0 && p0 <= hi;
            else
                out->pass_naive += lo > 0.5;
            stats_cluster_wilson(&c, stats_cluster_z95(&c), &lo, &hi, &deff);
            if (pass == 0)
                out->cluster += lo <= p0 && p0 <= hi;
            else
                out->pass_cluster += lo > 0.5;
            if (pass == 0 && rep < bt_reps && draws != NULL && d0 != NULL) {
                double ss[4] = {0, c.s / deff, (c.n - c.s) / deff, 0},
                       nn[4] = {0, c.n / deff, c.n / deff, 0};
                double blo, bhi;
                int x;
                stats_bt_draws(2, ss, nn, bt_samples, seed + (uint64_t)rep, draws);
                for (x = 0; x < bt_samples; x++)
                    d0[x] = draws[2 * x];
                stats_interval95(d0, bt_samples, &blo, &bhi);
                out->bt += blo <= truth && truth <= bhi;
            }
        }
    }
    out->naive /= reps;
    out->cluster /= reps;
    out->pass_naive /= reps;
    out->pass_cluster /= reps;
    out->bt /= bt_reps;
    free(draws);
    free(d0);
}

/* The 95% intervals of two models' rating draws (1,000, seed 42). */
static void draw_intervals(const double *ss, const double *nn, double *lo, double *hi)
{
    double dr[2000], col[1000];
    int x, side;
    stats_bt_draws(2, ss, nn, 1000, 42, dr);
    for (side = 0; side < 2; side++) {
        for (x = 0; x < 1000; x++)
            col[x] = dr[2 * x + side];
        stats_interval95(col, 1000, &lo[side], &hi[side]);
    }
}

int main(int argc, char **argv)
{
    double lo, hi, k, a, r[4];
    int pairable, prior, i, j;

    /* make bench: the simulation at a size that measures to +-0.5%. */
    if (argc == 3 && strcmp(argv[1], "--simulate") == 0) {
        struct sim sm;
        int reps = atoi(argv[2]);
        simulate(reps, reps / 4, 1000, 20261201, &sm);
        printf(
            "clustered judgments (40 items x 3 labelers, intra-item correlation 1/3), %d "
            "replicates:\n"
            "  win-rate 95%% interval coverage: naive %.3f, cluster-adjusted %.3f\n"
            "  Bradley-Terry 95%% interval coverage (%d replicates): %.3f\n"
            "  false passes of \"lower bound > 0.5\" at a true 50/50 (nominal 0.025): naive %.3f,"
            " cluster-adjusted %.3f\n",
            reps, sm.naive, sm.cluster, reps / 4, sm.bt, sm.pass_naive, sm.pass_cluster);
        return 0;
    }

    /* Wilson interval for 81 of 263 (Wilson 1927, as on Wikipedia). */
    stats_wilson(81, 263, 1.959964, &lo, &hi);
    NEAR(lo, 0.2553, 0.00005);
    NEAR(hi, 0.3662, 0.00005);
    stats_wilson(0, 10, 1.96, &lo, &hi);
    CHECK(lo == 0 && hi > 0.27 && hi < 0.28); /* 0 of 10: [0, 0.278] */
    stats_wilson(0, 0, 1.96, &lo, &hi);
    CHECK(lo == 0 && hi == 1);

    /* Fleiss' kappa: Wikipedia's worked example, 10 items, 14 raters. */
    {
        static const int counts[] = {0, 0, 0, 0, 14, 0, 2, 6, 4, 2, 0, 0, 3, 5, 6, 0, 3,
                                     9, 2, 0, 2, 2,  8, 1, 1, 7, 7, 0, 0, 0, 3, 2, 6, 3,
                                     0, 2, 5, 3, 2,  2, 6, 5, 2, 1, 0, 0, 2, 2, 3, 7};
        static const int uneven[] = {2, 0, 1, 2};
        CHECK(stats_fleiss(counts, 10, 5, &k) == 0);
        NEAR(k, 0.210, 0.0005);
        CHECK(stats_fleiss(uneven, 2, 2, &k) == -1); /* 2 raters, then 3 */
        {
            /* The accumulator gives the same kappa unit by unit. */
            struct stats_agree acc;
            double cats[5] = {1, 2, 3, 4, 5}, kk;
            int it, c, idx[14], m;
            CHECK(stats_agree_init(&acc, cats, 5) == 0);
            for (it = 0; it < 10; it++) {
                for (m = 0, c = 0; c < 5; c++)
                    for (j = 0; j < counts[it * 5 + c]; j++)
                        idx[m++] = c;
                stats_agree_unit(&acc, idx, m);
            }
            CHECK(stats_agree_fleiss(&acc, &kk) == 0);
            NEAR(kk, 0.210, 0.0005);
            CHECK(stats_agree_percent(&acc) > 0 && stats_agree_percent(&acc) < 1);
            stats_agree_free(&acc);
        }
    }

    /* Krippendorff (2011), "Computing Krippendorff's alpha-reliability":
     * 4 coders, 12 units, missing values. */
    {
        const double N = NAN;
        const double obs[4][12] = {{1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N},
                                   {1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3},
                                   {N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N},
                                   {1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N}};
        double v[12 * 4];
        for (i = 0; i < 12; i++)
            for (j = 0; j < 4; j++)
                v[i * 4 + j] = obs[j][i];
        CHECK(stats_alpha(v, 12, 4, ALPHA_NOMINAL, &a, &pairable) == 0);
        NEAR(a, 0.743, 0.0005);
        CHECK(pairable == 40); /* unit 12 has one value: not pairable */
        CHECK(stats_alpha(v, 12, 4, ALPHA_ORDINAL, &a, &pairable) == 0);
        NEAR(a, 0.815, 0.0005);
        CHECK(stats_alpha(v, 12, 4, ALPHA_INTERVAL, &a, &pairable) == 0);
        NEAR(a, 0.849, 0.0005);
    }
    /* Own cases: perfect agreement is 1; nothing pairable is undefined;
     * systematic disagreement is below 0. */
    {
        const double N = NAN;
        double same[] = {1, 1, 2, 2, 3, 3}, lone[] = {1, N, N, 2},
               flip[] = {1, 2, 2, 1, 1, 2, 2, 1};
        CHECK(stats_alpha(same, 3, 2, ALPHA_NOMINAL, &a, &pairable) == 0 && a == 1);
        CHECK(stats_alpha(lone, 2, 2, ALPHA_NOMINAL, &a, &pairable) == -1);
        CHECK(stats_alpha(flip, 4, 2, ALPHA_NOMINAL, &a, &pairable) == 0 && a < 0);
    }

    /* Bradley-Terry, two models: the difference is 400 log10(s / (n - s)). */
    {
        double w[4] = {0, 70, 30, 0};
        int it = stats_bt(2, w, r, &prior);
        CHECK(it > 0 && prior == 0);
        NEAR(r[0] - r[1], 400 * log10(70.0 / 30.0), 1e-6);
        NEAR((r[0] + r[1]) / 2, 1000, 1e-9);
        /* Ties count half: 60 wins, 20 ties, 20 losses is s = 70 of 100. */
        w[1] = 60 + 10;
        w[2] = 20 + 10;
        stats_bt(2, w, r, &prior);
        NEAR(r[0] - r[1], 400 * log10(70.0 / 30.0), 1e-6);
        /* A model that never lost gets the prior, and a finite rating. */
        w[1] = 10;
        w[2] = 0;
        CHECK(stats_bt(2, w, r, &prior) > 0 && prior == 1 && isfinite(r[0]) && r[0] > r[1]);
        NEAR(r[0] - r[1], 400 * log10(10.5 / 0.5), 1e-6);
    }
    /* Three models in a chain with known strengths: the fit recovers them. */
    {
        double s[3] = {4, 2, 1}, w[9] = {0};
        for (i = 0; i < 3; i++)
            for (j = 0; j < 3; j++)
                if (i != j)
                    w[i * 3 + j] = 1000 * s[i] / (s[i] + s[j]);
        stats_bt(3, w, r, &prior);
        NEAR(r[0] - r[1], 400 * log10(2), 1e-6);
        NEAR(r[1] - r[2], 400 * log10(2), 1e-6);
    }
    /* The rating draws: the same seed gives the same interval; the
     * interval holds the estimate and narrows with more data. */
    {
        double wins[4] = {0, 60, 40, 0}, ss[4] = {0, 60, 40, 0}, nn[4] = {0, 100, 100, 0};
        double lo2[2], hi2[2], lo3[2], hi3[2];
        stats_bt(2, wins, r, &prior);
        draw_intervals(ss, nn, lo2, hi2);
        draw_intervals(ss, nn, lo3, hi3);
        CHECK(lo2[0] == lo3[0] && hi2[1] == hi3[1]);
        CHECK(lo2[0] < r[0] && r[0] < hi2[0] && lo2[1] < r[1] && r[1] < hi2[1]);
        ss[1] = 6000; /* 100 times the data */
        ss[2] = 4000;
        nn[1] = nn[2] = 10000;
        draw_intervals(ss, nn, lo3, hi3);
        CHECK(hi3[0] - lo3[0] < (hi2[0] - lo2[0]) / 5);
    }
    /* The binomial draws have the right mean, exact and approximated. */
    {
        struct stats_rng g;
        double sum = 0;
        stats_rng_seed(&g, 7);
        for (i = 0; i < 2000; i++)
            sum += (double)stats_binomial(&g, 40, 0.25);
        NEAR(sum / 2000, 10, 0.3);
        sum = 0;
        for (i = 0; i < 2000; i++)
            sum += (double)stats_binomial(&g, 10000, 0.3);
        NEAR(sum / 2000, 3000, 3);
    }
    {
        double v[] = {5, 1, 3, 2}, one[] = {7};
        NEAR(stats_median(v, 4), 2.5, 0);
        NEAR(stats_median(one, 1), 7, 0);
        CHECK(isnan(stats_median(v, 0)));
    }
    /* Reference values from independent implementations (statsmodels,
     * scipy, R's BradleyTerry2), made by tests/reference/make.py. */
    {
        json_error_t err;
        char path[4096];
        const char *slash = strrchr(argv[0], '/');
        json_t *ref, *v;
        size_t x;
        /* Next to the sources: the binary is build/tests/test_stats. */
        snprintf(path, sizeof path, "%.*s%stests/reference/stats.json",
                 slash ? (int)(slash - argv[0] + 1) : 0, argv[0], slash ? "../../" : "");
        ref = json_load_file(path, 0, &err);
        CHECK(ref != NULL);
        json_array_foreach(json_object_get(ref, "wilson"), x, v)
        {
            stats_wilson(json_number_value(json_array_get(v, 0)),
                         json_number_value(json_array_get(v, 1)), 1.959963984540054, &lo, &hi);
            NEAR(lo, json_number_value(json_array_get(v, 2)), 1e-9);
            NEAR(hi, json_number_value(json_array_get(v, 3)), 1e-9);
        }
        json_array_foreach(json_object_get(ref, "t_quantile"), x, v)
            NEAR(stats_t_quantile(json_number_value(json_array_get(v, 1)),
                                  json_number_value(json_array_get(v, 0))),
                 json_number_value(json_array_get(v, 2)), 1e-7);
        json_array_foreach(json_object_get(ref, "binom_test"), x, v)
            NEAR(stats_binom_test_half(json_integer_value(json_array_get(v, 0)),
                                       json_integer_value(json_array_get(v, 1))),
                 json_number_value(json_array_get(v, 2)), 1e-9);
        json_array_foreach(json_object_get(ref, "wilcoxon"), x, v)
        {
            json_t *d = json_object_get(v, "d"), *e;
            double dv[64], w, z, p;
            size_t y;
            int used;
            json_array_foreach(d, y, e) dv[y] = json_number_value(e);
            CHECK(stats_wilcoxon(dv, (int)json_array_size(d), &w, &z, &p, &used) == 0);
            NEAR(w, json_number_value(json_object_get(v, "w_plus")), 1e-9);
            NEAR(p, json_number_value(json_object_get(v, "p")), 1e-9);
        }
        {
            json_t *bt = json_object_get(ref, "bradley_terry");
            double w[16], rr[4];
            for (i = 0; i < 4; i++)
                for (j = 0; j < 4; j++)
                    w[i * 4 + j] = json_number_value(json_array_get(
                        json_array_get(json_object_get(bt, "wins"), (size_t)i), (size_t)j));
            CHECK(stats_bt(4, w, rr, &prior) > 0 && prior == 0);
            for (i = 0; i < 4; i++)
                NEAR(rr[i],
                     json_number_value(json_array_get(json_object_get(bt, "elo"), (size_t)i)),
                     1e-4);
        }
        {
            json_t *dv = json_object_get(ref, "davidson");
            double w[9], t[9], rr[3], nu;
            for (i = 0; i < 3; i++)
                for (j = 0; j < 3; j++) {
                    w[i * 3 + j] = json_number_value(json_array_get(
                        json_array_get(json_object_get(dv, "wins"), (size_t)i), (size_t)j));
                    t[i * 3 + j] = json_number_value(json_array_get(
                        json_array_get(json_object_get(dv, "ties"), (size_t)i), (size_t)j));
                }
            CHECK(stats_davidson(3, w, t, rr, &nu, &prior) > 0 && prior == 0);
            NEAR(nu, json_number_value(json_object_get(dv, "nu")), 1e-5);
            for (i = 0; i < 3; i++)
                NEAR(rr[i],
                     json_number_value(json_array_get(json_object_get(dv, "elo"), (size_t)i)),
                     1e-3);
            /* Without ties Davidson is Bradley-Terry. */
            for (i = 0; i < 9; i++)
                t[i] = 0;
            stats_davidson(3, w, t, rr, &nu, &prior);
            stats_bt(3, w, r, &prior);
            CHECK(nu == 0);
            for (i = 0; i < 3; i++)
                NEAR(rr[i], r[i], 1e-6);
        }
        json_decref(ref);
    }
    /* Clustered shares: independent trials have no design effect; items
     * whose judgments all agree count once each; nothing varying takes
     * the most. */
    {
        struct stats_cluster c = {0}, same = {0}, flat = {0};
        double d;
        for (i = 0; i < 10; i++)
            stats_cluster_add(&c, i % 2, 1);
        NEAR(stats_cluster_deff(&c), 1, 0);
        for (i = 0; i < 10; i++)
            stats_cluster_add(&same, i % 2 ? 3 : 0, 3);
        NEAR(stats_cluster_deff(&same), 3, 1e-9);
        stats_cluster_wilson(&same, 1.959964, &lo, &hi, &d);
        stats_wilson(5, 10, 1.959964, &k, &a);
        NEAR(lo, k, 1e-12); /* 30 judgments of 10 items: as wide as 10 */
        NEAR(hi, a, 1e-12);
        for (i = 0; i < 10; i++)
            stats_cluster_add(&flat, 3, 3);
        NEAR(stats_cluster_deff(&flat), 3, 1e-9);
        stats_cluster_wilson(&flat, 1.959964, &lo, &hi, NULL);
        CHECK(hi - lo > 0.2); /* 30-0 over 10 items: never a zero width */
    }
    /* The draws: seeded, never of zero width, and 10-0 or 2 ties too. */
    {
        double ss[4] = {0, 10, 0, 0}, nn[4] = {0, 10, 10, 0}, dr[2000], again[2000], d0[1000], dlo,
               dhi;
        CHECK(stats_bt_draws(2, ss, nn, 1000, 3, dr) == 0);
        CHECK(stats_bt_draws(2, ss, nn, 1000, 3, again) == 0);
        CHECK(memcmp(dr, again, sizeof dr) == 0);
        for (i = 0; i < 1000; i++)
            d0[i] = dr[2 * i];
        stats_interval95(d0, 1000, &dlo, &dhi);
        CHECK(dhi - dlo > 100);
        CHECK(dlo > 1000); /* A is better, surely */
        ss[1] = 1;
        ss[2] = 1;
        nn[1] = nn[2] = 2; /* two ties */
        stats_bt_draws(2, ss, nn, 1000, 3, dr);
        for (i = 0; i < 1000; i++)
            d0[i] = dr[2 * i];
        stats_interval95(d0, 1000, &dlo, &dhi);
        CHECK(dlo < 900 && dhi > 1100);
    }
    /* Groups: A-B 1-1, C-D 1-1, A beat C, B beat D: {A, B} above {C, D},
     * no finite estimate, so the fit takes the prior and converges. */
    {
        double w[16] = {0};
        int grp[4];
        w[0 * 4 + 1] = w[1 * 4 + 0] = 1;
        w[2 * 4 + 3] = w[3 * 4 + 2] = 1;
        w[0 * 4 + 2] = 1;
        w[1 * 4 + 3] = 1;
        CHECK(stats_bt_groups(4, w, grp) == 2);
        CHECK(grp[0] == 0 && grp[1] == 0 && grp[2] == 1 && grp[3] == 1);
        CHECK(stats_bt(4, w, r, &prior) > 0 && prior == 1);
        CHECK(r[0] - r[2] < 600); /* was 1835 against 165 */
        w[2 * 4 + 0] = 1;         /* C beat A once: one group, the MLE exists */
        CHECK(stats_bt_groups(4, w, grp) == 1);
        CHECK(stats_bt(4, w, r, &prior) > 0 && prior == 0);
    }
    /* Holm: the smallest p times n, then step down, never decreasing. */
    {
        double p[4] = {0.01, 0.04, 0.03, 0.005}, adj[4];
        stats_holm(p, 4, adj);
        NEAR(adj[3], 0.02, 1e-12);
        NEAR(adj[0], 0.03, 1e-12);
        NEAR(adj[2], 0.06, 1e-12);
        NEAR(adj[1], 0.06, 1e-12);
        NEAR(stats_normal_sf(1.959964), 0.025, 1e-6);
    }
    /* The simulation, small enough for make check (make bench runs it
     * larger): the naive interval under-covers, the adjusted one holds
     * 93-97%, and the false passes stay at the nominal 2.5%. */
    {
        struct sim sm;
        simulate(2000, 300, 400, 20261201, &sm);
        printf("simulation: coverage naive %.3f, adjusted %.3f, bt %.3f; false passes naive %.3f, "
               "adjusted %.3f\n",
               sm.naive, sm.cluster, sm.bt, sm.pass_naive, sm.pass_cluster);
        CHECK(sm.naive < 0.91);
        CHECK(sm.cluster >= 0.93 && sm.cluster <= 0.97);
        CHECK(sm.bt >= 0.93 && sm.bt <= 0.97);
        CHECK(sm.pass_naive > 0.04);
        CHECK(sm.pass_cluster <= 0.025);
    }
    /* The cluster-robust interval's quantile: t with clusters - 1 degrees
     * of freedom (R: qt(0.975, 39) = 2.022691), z below two clusters. */
    {
        struct stats_cluster c = {0};
        int x;
        stats_cluster_add(&c, 1, 2);
        NEAR(stats_cluster_z95(&c), 1.959964, 1e-6);
        for (x = 1; x < 40; x++)
            stats_cluster_add(&c, x % 2, 2);
        NEAR(stats_cluster_z95(&c), 2.022691, 1e-6);
    }
    printf("test_stats: %d passed, %d failed\n", unit_passed, unit_failed);
    return unit_failed != 0;
}
