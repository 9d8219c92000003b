using EtlStream.Formats;
using EtlStream.Tables;

namespace EtlStream.Transforms;

/// <summary>One row filter, narrowing a selection of row indices in place. NULL never passes a comparison.</summary>
internal abstract class RowFilter
{
    /// <summary>Keeps the rows of <paramref name="rows"/> that pass; returns how many are left at its front.</summary>
    public abstract int Apply(TextBatch batch, Span<int> rows, RowErrors errors);

    public static RowFilter Create(FilterSpec spec, SourceColumnReader reader) => spec.Op switch
    {
        FilterOp.NotNull => new NotNullFilter(reader),
        _ => reader switch
        {
            PrimitiveColumnReader<long, Int64Parser> r => new ComparisonFilter<long>(spec, reader.SourceIndex, r.TryRead, s => Parse<long, Int64Parser>(s, default)),
            PrimitiveColumnReader<int, Int32Parser> r => new ComparisonFilter<int>(spec, reader.SourceIndex, r.TryRead, s => Parse<int, Int32Parser>(s, default)),
            PrimitiveColumnReader<short, Int16Parser> r => new ComparisonFilter<short>(spec, reader.SourceIndex, r.TryRead, s => Parse<short, Int16Parser>(s, default)),
            PrimitiveColumnReader<sbyte, Int8Parser> r => new ComparisonFilter<sbyte>(spec, reader.SourceIndex, r.TryRead, s => Parse<sbyte, Int8Parser>(s, default)),
            PrimitiveColumnReader<double, DoubleParser> r => new ComparisonFilter<double>(spec, reader.SourceIndex, r.TryRead, s => Parse<double, DoubleParser>(s, default)),
            PrimitiveColumnReader<Int128, DecimalParser> r => new ComparisonFilter<Int128>(spec, reader.SourceIndex, r.TryRead, s => Parse<Int128, DecimalParser>(s, new DecimalParser(reader.Column.Type.Precision, reader.Column.Type.Scale))),
            PrimitiveColumnReader<int, DateParser> r => new ComparisonFilter<int>(spec, reader.SourceIndex, r.TryRead, s => Parse<int, DateParser>(s, new DateParser(ValueParsers.PatternFor(reader.Column)))),
            PrimitiveColumnReader<long, TimestampParser> r => new ComparisonFilter<long>(spec, reader.SourceIndex, r.TryRead, s => Parse<long, TimestampParser>(s, new TimestampParser(ValueParsers.PatternFor(reader.Column)))),
            BoolColumnReader r => new ComparisonFilter<bool>(spec, reader.SourceIndex, r.TryRead, s => new BoolTokens(reader.Column.TrueTokens, reader.Column.FalseTokens).TryParse(System.Text.Encoding.UTF8.GetBytes(s), out var v) && v),
            StringColumnReader r => new StringFilter(spec, r),
            _ => throw new InvalidOperationException($"no filter for column '{spec.Column}'"),
        },
    };

    private static T Parse<T, TParser>(string text, TParser parser)
        where T : unmanaged
        where TParser : struct, IValueParser<T> =>
        parser.TryParse(System.Text.Encoding.UTF8.GetBytes(text), out var v, out var reason)
            ? v
            : throw new ConfigException([$"filter on a {typeof(T).Name} column: '{text}': {reason}"]);

    protected static bool Holds(FilterOp op, int comparison) => op switch
    {
        FilterOp.Equal or FilterOp.In => comparison == 0,
        FilterOp.NotEqual => comparison != 0,
        FilterOp.Less => comparison < 0,
        FilterOp.LessOrEqual => comparison <= 0,
        FilterOp.Greater => comparison > 0,
        _ => comparison >= 0,
    };

    internal delegate bool ValueReader<T>(TextBatch batch, in TextColumnData source, int row, RowErrors errors, out T value);

    private sealed class ComparisonFilter<T>(FilterSpec spec, int source, ValueReader<T> read, Func<string, T> parse) : RowFilter
        where T : IComparable<T>
    {
        private readonly T[] _literals = [.. spec.Values.Select(parse)];
        private readonly int _source = source;

        public override int Apply(TextBatch batch, Span<int> rows, RowErrors errors)
        {
            ref readonly var src = ref batch.Data(_source);
            var kept = 0;
            for (var i = 0; i < rows.Length; i++)
            {
                var row = rows[i];
                if (read(batch, src, row, errors, out var value) && Matches(value))
                {
                    rows[kept++] = row;
                }
            }

            return kept;
        }

        private bool Matches(T value)
        {
            if (spec.Op == FilterOp.In)
            {
                foreach (var l in _literals)
                {
                    if (value.CompareTo(l) == 0)
                    {
                        return true;
                    }
                }

                return false;
            }

            return Holds(spec.Op, value.CompareTo(_literals[0]));
        }
    }

    private sealed class StringFilter(FilterSpec spec, StringColumnReader reader) : RowFilter
    {
        private readonly byte[][] _literals = [.. spec.Values.Select(System.Text.Encoding.UTF8.GetBytes)];

        public override int Apply(TextBatch batch, Span<int> rows, RowErrors errors)
        {
            ref readonly var src = ref batch.Data(reader.SourceIndex);
            var kept = 0;
            for (var i = 0; i < rows.Length; i++)
            {
                var row = rows[i];
                if (reader.TryText(batch, src, row, errors, out var text) && Matches(text))
                {
                    rows[kept++] = row;
                }
            }

            return kept;
        }

        private bool Matches(ReadOnlySpan<byte> text)
        {
            if (spec.Op == FilterOp.In)
            {
                foreach (var l in _literals)
                {
                    if (text.SequenceEqual(l))
                    {
                        return true;
                    }
                }

                return false;
            }

            return Holds(spec.Op, text.SequenceCompareTo(_literals[0]));
        }
    }

    private sealed class NotNullFilter(SourceColumnReader reader) : RowFilter
    {
        public override int Apply(TextBatch batch, Span<int> rows, RowErrors errors)
        {
            ref readonly var src = ref batch.Data(reader.SourceIndex);
            var kept = 0;
            for (var i = 0; i < rows.Length; i++)
            {
                if (reader.IsPresent(src, rows[i]))
                {
                    rows[kept++] = rows[i];
                }
            }

            return kept;
        }
    }
}
