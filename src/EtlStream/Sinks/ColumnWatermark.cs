using System.Globalization;
using Apache.Arrow;
using EtlStream.Sources;
using EtlStream.Tables;
using EtlStream.Transforms;

namespace EtlStream.Sinks;

/// <summary>
/// A table's column watermark (<c>watermark_column</c>): the largest value of an integer, date or timestamp column
/// that was loaded. As text in the column's own format, it becomes a <c>column &gt; watermark</c> filter of the next
/// append, so rows a source exports again are filtered, not loaded twice.
/// </summary>
internal sealed class ColumnWatermark
{
    private readonly ColumnSpec _column;
    private readonly DateTimePattern? _pattern;
    private readonly Lock _gate = new();
    private long? _max;

    public ColumnWatermark(ColumnSpec column)
    {
        ArgumentNullException.ThrowIfNull(column);
        _column = column;
        _pattern = column.Type.Kind is ColumnKind.Date or ColumnKind.Timestamp ? ValueParsers.PatternFor(column) : null;
    }

    /// <summary>The spec with <c>column &gt; <paramref name="watermark"/></c> added to its filters (unchanged without one).</summary>
    public TableSpec FilterAbove(TableSpec spec, string? watermark)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return watermark is null ? spec : spec with { Filters = [.. spec.Filters, new FilterSpec(_column.Name, FilterOp.Greater, [watermark])] };
    }

    /// <summary>The largest value seen, in the column's format; null when no row had one.</summary>
    public string? Highest
    {
        get
        {
            lock (_gate)
            {
                return _max is { } max ? Format(max) : null;
            }
        }
    }

    /// <summary>Wraps <paramref name="sink"/> so that every row written to it counts towards <see cref="Highest"/>.</summary>
    public IBatchSink Track(IBatchSink sink) => new TrackingSink(sink, this);

    private void Observe(RecordBatch batch)
    {
        var max = batch.Column(batch.Schema.GetFieldIndex(_column.Name)) switch
        {
            Int64Array a => Max(a, 1),
            Int32Array a => Max(a, 1),
            Int16Array a => Max(a, 1),
            Int8Array a => Max(a, 1),
            Date32Array a => Max(a, 1),
            TimestampArray a => Max(a, ((Apache.Arrow.Types.TimestampType)a.Data.DataType).Unit switch
            {
                Apache.Arrow.Types.TimeUnit.Second => 1_000_000L,
                Apache.Arrow.Types.TimeUnit.Millisecond => 1_000L,
                _ => 1L,
            }),
            _ => null,
        };

        if (max is { } m)
        {
            lock (_gate)
            {
                _max = _max is { } old && old >= m ? old : m;
            }
        }
    }

    /// <summary>The largest valid value, times <paramref name="scale"/> (timestamps in microseconds); null when all are null.</summary>
    private static long? Max<T>(PrimitiveArray<T> array, long scale)
        where T : struct, System.Numerics.IBinaryInteger<T>
    {
        var values = array.Values;
        long? max = null;
        for (var i = 0; i < values.Length; i++)
        {
            if (array.IsValid(i) && long.CreateTruncating(values[i]) * scale is var v && (max is not { } m || v > m))
            {
                max = v;
            }
        }

        return max;
    }

    /// <summary>The value as the column's parser reads it back: integers invariant, dates and timestamps in the column's format.</summary>
    private string Format(long value)
    {
        if (_pattern is null)
        {
            return value.ToString(CultureInfo.InvariantCulture);
        }

        if (_column.Type.Kind == ColumnKind.Date)
        {
            return DateOnly.FromDayNumber(DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber + (int)value).ToString(_pattern.Text, CultureInfo.InvariantCulture);
        }

        var at = DateTime.UnixEpoch.AddTicks(value * 10);
        var text = at.ToString(_pattern.Text, CultureInfo.InvariantCulture);

        // The parser takes a fraction after the seconds even when the format has none; without it, rows later in
        // the same second would fall at or below a watermark cut to the second.
        return value % 1_000_000 != 0 && !_pattern.Text.Contains('f', StringComparison.Ordinal)
            ? text + "." + (value % 1_000_000).ToString("D6", CultureInfo.InvariantCulture)
            : text;
    }

    private sealed class TrackingSink(IBatchSink inner, ColumnWatermark watermark) : IBatchSink, IRejectingSink
    {
        public int MaxConcurrency => inner.MaxConcurrency;

        public int MaxFilesInFlight => inner.MaxFilesInFlight;

        public int PreferredChunkRows => inner.PreferredChunkRows;

        public long PreferredChunkBytes => inner.PreferredChunkBytes;

        public void ReceiveRejectsWith(Func<IReadOnlyList<Transforms.RejectedRow>, CancellationToken, ValueTask> receiver) =>
            (inner as IRejectingSink)?.ReceiveRejectsWith(receiver);

        public ValueTask OpenAsync(Schema schema, CancellationToken cancellationToken) => inner.OpenAsync(schema, cancellationToken);

        public async ValueTask WriteAsync(SinkChunk chunk, CancellationToken cancellationToken)
        {
            await inner.WriteAsync(chunk, cancellationToken).ConfigureAwait(false);
            foreach (var batch in chunk.Batches)
            {
                watermark.Observe(batch);
            }
        }

        public ValueTask FileCompleteAsync(SourceFile file, int chunks, CancellationToken cancellationToken) =>
            inner.FileCompleteAsync(file, chunks, cancellationToken);

        public ValueTask CompleteAsync(CancellationToken cancellationToken) => inner.CompleteAsync(cancellationToken);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
