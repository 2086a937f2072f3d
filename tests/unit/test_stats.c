/* test_stats.c: src/stats.c against published reference values, and
 * cases of our own. */
#include "stats.h"
#include "unit.h"

#include <math.h>
#include <stdlib.h>

#define NEAR(x, want, tol) CHECK(fabs((x) - (want)) <= (tol))

int main(void)
{
    double lo, hi, k, a, r[4];
    int pairable, prior, i, j;

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
        static const int counts[] = {0, 0, 0, 0, 14, 0, 2, 6, 4, 2, 0, 0, 3, 5, 6, 0, 3, 9, 2, 0,
                                     2, 2, 8, 1, 1, 7, 7, 0, 0, 0, 3, 2, 6, 3, 0, 2, 5, 3, 2, 2,
                                     6, 5, 2, 1, 0, 0, 2, 2, 3, 7};
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
        double same[] = {1, 1, 2, 2, 3, 3}, lone[] = {1, N, N, 2}, flip[] = {1, 2, 2, 1, 1, 2, 2, 1};
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
    /* The bootstrap: the same seed gives the same interval; the interval
     * holds the estimate and narrows with more data. */
    {
        double wins[4] = {0, 60, 40, 0}, ties[4] = {0, 0, 0, 0}, lo2[2], hi2[2], lo3[2], hi3[2];
        stats_bt(2, wins, r, &prior);
        stats_bt_bootstrap(2, wins, ties, 1000, 42, lo2, hi2);
        stats_bt_bootstrap(2, wins, ties, 1000, 42, lo3, hi3);
        CHECK(lo2[0] == lo3[0] && hi2[1] == hi3[1]);
        CHECK(lo2[0] < r[0] && r[0] < hi2[0] && lo2[1] < r[1] && r[1] < hi2[1]);
        wins[1] = 6000;
        wins[2] = 4000;
        stats_bt_bootstrap(2, wins, ties, 1000, 42, lo3, hi3);
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
    printf("test_stats: %d passed, %d failed\n", unit_passed, unit_failed);
    return unit_failed != 0;
}
