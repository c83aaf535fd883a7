import { describe, expect, it } from 'vitest';
import { compareRuns } from './compare.js';
import { renderComparison } from './comparison-text.js';
import { seedCustomMLP, seedLeNet5, seedRuns } from './seed-fixture.js';

describe('renderComparison', () => {
  it('says which model generalises better, by how much, and who learns faster', () => {
    const text = renderComparison(compareRuns([seedLeNet5(), seedCustomMLP()]));
    expect(text).toContain('**LeNet5 generalises better**, with 99.03% final test accuracy');
    expect(text).toContain('vs CustomMLP (97.63%): +1.40 percentage points; test error 2.37% → 0.97%, 59.1% fewer');
    expect(text).toContain(
      '**LeNet5 learns faster**: 98% test accuracy is reached by LeNet5 at epoch 2; ' +
        'CustomMLP never does (best 97.63% in 10 epochs)',
    );
    expect(text).toContain(
      '- **LeNet5**: train accuracy rises from 90.47% (epoch 1) to 99.55% (epoch 10); ' +
        'train loss goes from 0.2902 to 0.0137.',
    );
    expect(text).toContain(
      '| LeNet5 | 99.03% | 99.03% (epoch 10) | 2 | 0.52 pts | 0.0368 | 0.0314 (epoch 4) | 0.0231 |',
    );
    expect(text).toContain('| CustomMLP | 97.63% | 97.63% (epoch 10) | never | 1.38 pts |');
    // LeNet5's test loss rises 17% above its minimum while train loss falls.
    expect(text).toContain("**LeNet5**'s test loss bottomed at 0.0314 (epoch 4) and ended at 0.0368");
    expect(text).not.toContain('### Notes');
  });

  it('compares every run with the leader when there are three', () => {
    const text = renderComparison(compareRuns(seedRuns()));
    expect(text).toContain('**RegularizedLeNet5 generalises best**');
    expect(text).toContain('vs LeNet5 (99.03%): +0.18 percentage points');
    expect(text).toContain('**RegularizedLeNet5 learns fastest**');
  });

  it('describes a single one-epoch run without comparing', () => {
    const lenet = seedLeNet5();
    const text = renderComparison(compareRuns([{ ...lenet, records: lenet.records.slice(0, 1) }]));
    expect(text).toContain('- **LeNet5**: after epoch 1, train accuracy 90.47%, train loss 0.2902.');
    expect(text).toContain('Only one run (LeNet5)');
    expect(text).not.toContain('generalises');
  });

  it('notes missing epochs, empty runs and unequal lengths', () => {
    const mlp = seedCustomMLP();
    const lenet = seedLeNet5();
    const text = renderComparison(
      compareRuns([
        { ...lenet, records: lenet.records.slice(0, 5) },
        { ...mlp, records: mlp.records.filter((r) => r.epoch !== 4) },
        { title: 'Nothing', model: 'lenet5-reg', records: [] },
      ]),
    );
    expect(text).toContain('- CustomMLP has no record for epoch 4.');
    expect(text).toContain('- Nothing has no recorded epochs.');
    expect(text).toContain('(LeNet5 5, CustomMLP 10)');
    expect(text).toContain('| Nothing | – |');
  });

  it('calls equal final accuracies level and falls back to first-epoch accuracy for speed', () => {
    const a = seedCustomMLP();
    const b = {
      ...seedCustomMLP(),
      title: 'Twin',
      records: seedCustomMLP().records.map((r) => ({ ...r, testAcc: r.epoch === 1 ? 0.9 : r.testAcc })),
    };
    const text = renderComparison(compareRuns([a, b]));
    expect(text).toContain('end level at 97.63% test accuracy');
    expect(text).toContain(
      'no run reaches 98% test accuracy, so this rests on test accuracy after the first recorded epoch: ' +
        'CustomMLP 95.25%, Twin 90.00%',
    );
  });
});
