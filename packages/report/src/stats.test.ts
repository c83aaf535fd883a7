import { describe, expect, it } from 'vitest';
import { incompleteBeta, logGamma, mean, std, studentTCdf, studentTQuantile, summarize, welchTTest } from './stats.js';

// Reference: SciPy 1.17.1 / NumPy 2.4.6 on the build machine (Debian python3-scipy):
// np.mean, np.std(ddof=1), scipy.stats.t.interval / t.cdf / t.ppf, scipy.special.betainc /
// gammaln, and scipy.stats.ttest_ind(a, b, equal_var=False) with .confidence_interval(0.95).
const A = [0.9905, 0.9912, 0.9898, 0.9921, 0.9909];
const B = [0.9929, 0.9918, 0.9931, 0.9925, 0.9914];
const C = [0.9728, 0.9751, 0.9735];

describe('special functions against SciPy', () => {
  it('ln Γ and the regularized incomplete beta', () => {
    expect(logGamma(0.5)).toBeCloseTo(0.5723649429247, 12); // ln √π
    expect(logGamma(10.3)).toBeCloseTo(13.482036786138359, 11);
    expect(incompleteBeta(0.3, 2.5, 0.5)).toBeCloseTo(0.018927124071945658, 13);
    expect(incompleteBeta(0.9, 10, 3)).toBeCloseTo(0.889130022255, 11);
    expect(incompleteBeta(0, 2, 3)).toBe(0);
    expect(incompleteBeta(1, 2, 3)).toBe(1);
  });

  it("Student's t CDF, integer and fractional df", () => {
    expect(studentTCdf(2.0, 5)).toBeCloseTo(0.9490302605850708, 12);
    expect(studentTCdf(-1.3, 2.5)).toBeCloseTo(0.15024339463535416, 12);
    expect(studentTCdf(0.7, 30)).toBeCloseTo(0.7553397782501642, 12);
    expect(studentTCdf(3.5, 1)).toBeCloseTo(0.9114144672170952, 12); // Cauchy: 1/2 + atan(3.5)/π
    expect(studentTCdf(0, 7)).toBe(0.5);
  });

  it("Student's t quantiles (the textbook table's 2.776 for 4 df, 2.262 for 9)", () => {
    expect(studentTQuantile(0.975, 4)).toBeCloseTo(2.7764451051977934, 9);
    expect(studentTQuantile(0.975, 9)).toBeCloseTo(2.262157162798205, 9);
    expect(studentTQuantile(0.975, 7.3)).toBeCloseTo(2.345066736547703, 9);
    expect(studentTQuantile(0.025, 2)).toBeCloseTo(-4.302652729749464, 9);
  });
});

describe('summaries and Welch against SciPy', () => {
  it('mean, sample std and the 95% interval of the mean', () => {
    expect(mean(A)).toBeCloseTo(0.9909, 14);
    expect(std(A)).toBeCloseTo(0.0008514693182963012, 14);
    const s = summarize(C);
    expect(s.n).toBe(3);
    expect(s.mean).toBeCloseTo(0.9738000000000001, 14);
    expect(s.std).toBeCloseTo(0.001178982612255138, 14);
    expect(s.ci95?.[0]).toBeCloseTo(0.9708712448313992, 11);
    expect(s.ci95?.[1]).toBeCloseTo(0.976728755168601, 11);
  });

  it('one value has a mean but no spread or interval', () => {
    const s = summarize([0.99]);
    expect(s.mean).toBe(0.99);
    expect(s.std).toBeNaN();
    expect(s.ci95).toBeUndefined();
  });

  it("Welch's t, df, two-sided p and the interval of the difference", () => {
    const cases = [
      {
        a: A,
        b: B,
        t: -2.8823067684920214,
        df: 7.795764020451725,
        p: 0.021002505805350173,
        ci: [-0.0025973541808744375, -0.0002826458191260001],
      },
      {
        a: A,
        b: C,
        t: 21.92427815465645,
        df: 3.286726657086281,
        p: 0.00011194881200259649,
        ci: [0.014735943683941422, 0.019464056316058142],
      },
      {
        a: [1, 2, 3, 4],
        b: [2, 4, 6, 8, 10, 12],
        t: -2.713602101199873,
        df: 6.59467097295115,
        p: 0.03182444378084147,
        ci: [-8.470676788343704, -0.5293232116562954],
      },
    ];
    for (const c of cases) {
      const r = welchTTest(c.a, c.b);
      expect(r).toBeDefined();
      const scale = Math.abs(c.ci[0]!);
      expect(r!.t).toBeCloseTo(c.t, 9);
      expect(r!.df).toBeCloseTo(c.df, 9);
      expect(r!.p).toBeCloseTo(c.p, 11);
      expect(r!.ci95[0] / scale).toBeCloseTo(c.ci[0]! / scale, 8);
      expect(r!.ci95[1] / scale).toBeCloseTo(c.ci[1]! / scale, 8);
    }
  });

  it('no test without two values on each side or without any spread', () => {
    expect(welchTTest([1], [1, 2])).toBeUndefined();
    expect(welchTTest([1, 1], [2, 2])).toBeUndefined();
  });
});
