/** Tab completion: keywords in the case typed, object names, names only where a relation is expected. */
import { describe, expect, it } from 'vitest';
import { completeLine } from '../../src/cli/repl/completion.js';

const names = ['word_counts', 'words', 'orders', 'Mixed Case'];

describe('completeLine', () => {
  it('completes keywords, keeping the case of the prefix', () => {
    expect(completeLine('sel', names)).toEqual([['select'], 'sel']);
    expect(completeLine('SEL', names)).toEqual([['SELECT'], 'SEL']);
    expect(completeLine('Sel', names)).toEqual([['Select'], 'Sel']);
    expect(completeLine('SUB', names)[0]).toEqual(['SUBSCRIBE', 'SUBSTRING']);
    expect(completeLine('create materialized view v as select k from t gro', names)).toEqual([['group by'], 'gro']);
    expect(completeLine('... EMIT ON WIN', names)[0]).toContain('WINDOW_START');
    expect(completeLine('CREATE SOURCE s (ts TIMESTAMP, WATER', names)[0]).toEqual(['WATERMARK FOR', 'WATERMARK_IDLE_TIMEOUT']);
    expect(completeLine('SELECT * FROM t EMI', names)[0]).toEqual(['EMIT ON WINDOW CLOSE']);
  });

  it('completes object names, in the case typed when the name folds', () => {
    expect(completeLine('SELECT * FROM wor', names)).toEqual([['word_counts', 'words'], 'wor']);
    expect(completeLine('SELECT * FROM WOR', names)).toEqual([['WORD_COUNTS', 'WORDS'], 'WOR']);
    expect(completeLine('select count(*) from ord', names)).toEqual([['orders'], 'ord']);
    // A name that needs quotes comes quoted.
    expect(completeLine('SELECT * FROM Mi', names)).toEqual([['"Mixed Case"'], 'Mi']);
    expect(completeLine('SELECT * FROM "Mix', names)).toEqual([['"Mixed Case"'], '"Mix']);
  });

  it('offers names only (and window functions) where a relation is expected, all of them when nothing is typed', () => {
    expect(completeLine('SUBSCRIBE ', names)).toEqual([names.map((n) => (n === 'Mixed Case' ? '"Mixed Case"' : n)), '']);
    expect(completeLine('SELECT * FROM o', names)[0]).toEqual(['orders']);
    expect(completeLine('select * from tu', names)[0]).toEqual(['tumble']);
    expect(completeLine('SELECT * FROM TUMBLE(wo', names)[0]).toEqual(['word_counts', 'words']);
    expect(completeLine('DESCRIBE w', names)[0]).toEqual(['word_counts', 'words']);
    expect(completeLine('\\d wo', names)[0]).toEqual(['word_counts', 'words']);
    // Elsewhere an empty word completes nothing rather than every keyword.
    expect(completeLine('SELECT ', names)).toEqual([[], '']);
  });

  it('looks at the earlier lines of the statement for the word before the cursor', () => {
    expect(completeLine('  wo', names, 'SELECT *\nFROM')[0]).toEqual(['word_counts', 'words']);
  });

  it('completes backslash commands at the start of a line', () => {
    expect(completeLine('\\ti', names)).toEqual([['\\timing'], '\\ti']);
    expect(completeLine('\\d', names)[0]).toEqual(['\\d', '\\dm', '\\dt', '\\dv']);
  });
});
