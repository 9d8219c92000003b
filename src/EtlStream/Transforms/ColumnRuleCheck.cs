using EtlStream.Formats;
using System.Buffers;
using System.Text;
using System.Text.RegularExpressions;
using EtlStream.Tables;

namespace EtlStream.Transforms;

/// <summary>
/// A column's declared rules, checked over a batch's selected rows before the kernels run; a row that breaks one
/// is failed through <see cref="RowErrors"/> with the rule's name. NULLs pass every rule (NOT NULL is the type's).
/// </summary>
internal sealed class ColumnRuleCheck
{
    private readonly SourceColumnReader _reader;
    private readonly ColumnRules _rules;
    private readonly byte[][] _accepted;
    private readonly Regex? _regex;
    private readonly RowFilter? _min;
    private readonly RowFilter? _max;
    private readonly UniqueKeySet? _seen;

    /// <param name="seen">The values seen so far in the load, shared by every file's check of this column (for <c>unique</c>).</param>
    public ColumnRuleCheck(SourceColumnReader reader, ColumnRules rules, UniqueKeySet? seen)
    {
        _reader = reader;
        _rules = rules;
        _accepted = rules.AcceptedValues is { } values ? [.. values.Select(Encoding.UTF8.GetBytes)] : [];
        _regex = rules.Regex is { } pattern ? CreateRegex(pattern) : null;
        _min = rules.RangeMin is { } min ? RowFilter.Create(new FilterSpec(reader.Column.Name, FilterOp.GreaterOrEqual, [min]), reader) : null;
        _max = rules.RangeMax is { } max ? RowFilter.Create(new FilterSpec(reader.Column.Name, FilterOp.LessOrEqual, [max]), reader) : null;
        _seen = rules.Unique ? seen : null;
    }

    /// <summary>How long the backtracking engine may look at one value before the row is rejected.</summary>
    internal static readonly TimeSpan RegexTimeout = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A rule's regex. The non-backtracking engine answers in time linear in the value, so no value can stall a
    /// batch (<c>^([a-zA-Z0-9]+\s?)+$</c> backtracks for minutes on 35 characters); it refuses backreferences,
    /// lookarounds and atomic groups, and a pattern using them runs on the backtracking engine under
    /// <see cref="RegexTimeout"/>. Throws <see cref="ArgumentException"/> for an invalid pattern.
    /// </summary>
    internal static Regex CreateRegex(string pattern)
    {
        try
        {
            return new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.NonBacktracking);
        }
        catch (NotSupportedException)
        {
            return new Regex(pattern, RegexOptions.CultureInvariant, RegexTimeout);
        }
    }

    public void Check(TextBatch batch, ReadOnlySpan<int> rows, RowErrors errors, CancellationToken cancellationToken = default)
    {
        ref readonly var src = ref batch.Data(_reader.SourceIndex);
        var chars = ArrayPool<char>.Shared.Rent(1024);
        Span<int> one = stackalloc int[1];
        try
        {
            var cursor = _reader.Open(src);
            foreach (var row in rows)
            {
                if (!cursor.TryGet(row, out var text))
                {
                    continue;
                }

                if (_accepted.Length > 0 && !IsAccepted(text))
                {
                    Fail(batch, row, text, Rules.AcceptedValues, $"not one of the accepted values ({string.Join(", ", _rules.AcceptedValues!)})", errors);
                    continue;
                }

                if (_rules.MaxLength is { } maxLength && Encoding.UTF8.GetCharCount(text) > maxLength)
                {
                    Fail(batch, row, text, Rules.MaxLength, $"longer than {maxLength} characters", errors);
                    continue;
                }

                if (_regex is not null)
                {
                    if (chars.Length < text.Length)
                    {
                        ArrayPool<char>.Shared.Return(chars);
                        chars = ArrayPool<char>.Shared.Rent(text.Length);
                    }

                    // A backtracking pattern may take its whole timeout on each of a batch's rows: stop when asked.
                    cancellationToken.ThrowIfCancellationRequested();
                    var n = Encoding.UTF8.GetChars(text, chars);
                    bool matched;
                    try
                    {
                        matched = _regex.IsMatch(chars.AsSpan(0, n));
                    }
                    catch (RegexMatchTimeoutException)
                    {
                        Fail(batch, row, text, Rules.Regex, $"/{_rules.Regex}/ gave no answer within {RegexTimeout.TotalSeconds:0} s", errors);
                        continue;
                    }

                    if (!matched)
                    {
                        Fail(batch, row, text, Rules.Regex, $"does not match /{_rules.Regex}/", errors);
                        continue;
                    }
                }

                one[0] = row;
                if ((_min is not null && _min.Apply(batch, one, errors) == 0) || (_max is not null && _max.Apply(batch, one, errors) == 0))
                {
                    if (!errors.IsRejected(row))
                    {
                        Fail(batch, row, text, Rules.Range, $"outside [{_rules.RangeMin ?? "-∞"}, {_rules.RangeMax ?? "∞"}]", errors);
                    }

                    continue;
                }

                if (_seen is not null)
                {
                    UniqueAdd added;
                    lock (_seen)
                    {
                        added = _seen.Add(text);
                    }

                    if (added == UniqueAdd.Duplicate)
                    {
                        Fail(batch, row, text, Rules.Unique, "duplicate within the load", errors);
                    }
                    else if (added == UniqueAdd.Full)
                    {
                        // Failing the run beats a set that grows until the process dies; the limit is stated.
                        throw new UniqueLimitException(batch.Source, batch.LineOf(row), _reader.Column.Name, _seen.Count, _seen.LimitBytes);
                    }
                }
            }
        }
        finally
        {
            ArrayPool<char>.Shared.Return(chars);
        }
    }

    private bool IsAccepted(ReadOnlySpan<byte> text)
    {
        foreach (var a in _accepted)
        {
            if (text.SequenceEqual(a))
            {
                return true;
            }
        }

        return false;
    }

    private void Fail(TextBatch batch, int row, ReadOnlySpan<byte> text, string rule, string reason, RowErrors errors) =>
        errors.Fail(_reader.Error(batch, row, text, reason), row, rule);
}
