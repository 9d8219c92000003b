using System.Globalization;
using Apache.Arrow;
using Apache.Arrow.Types;
using EtlStream.Sinks;

namespace EtlStream.Tests.StarRocks;

/// <summary>
/// Rows as comparable text, from Arrow batches (what the pipeline produced) and from MariaDB (what the protocol
/// server committed), so a load is checked value by value: decimals at their scale, timestamps to the microsecond.
/// </summary>
internal static class StarRocksRows
{
    public static string Text(object? value, IArrowType type) => value switch
    {
        null => "∅",
        decimal d => d.ToString("F" + ((Decimal128Type)type).Scale.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture),
        bool b => b ? "1" : "0",
        sbyte or short or int or long => Convert.ToInt64(value, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture),
        double x => x.ToString("R", CultureInfo.InvariantCulture),
        DateTime t when type is Date32Type => t.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        DateTime t => t.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture),
        DateTimeOffset t => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture),
        DateOnly d => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture)!,
    };

    public static object? Value(IArrowArray array, int row) => array.IsNull(row) ? null : array switch
    {
        StringArray s => s.GetString(row),
        Int8Array a => a.GetValue(row),
        Int16Array a => a.GetValue(row),
        Int32Array a => a.GetValue(row),
        Int64Array a => a.GetValue(row),
        Decimal128Array a => a.GetValue(row),
        DoubleArray a => a.GetValue(row),
        BooleanArray a => a.GetValue(row),
        Date32Array a => a.GetDateTime(row),
        TimestampArray a => a.GetTimestamp(row),
        _ => throw new NotSupportedException(array.GetType().Name),
    };

    /// <summary>A sink that keeps every row as text: the expected side of a load.</summary>
    public sealed class Recording : IBatchSink
    {
        public List<string> Rows { get; } = [];

        public Schema? Schema { get; private set; }

        public int MaxConcurrency => 1;

        public int PreferredChunkRows => 1;

        public ValueTask OpenAsync(Schema schema, CancellationToken cancellationToken)
        {
            Schema = schema;
            return ValueTask.CompletedTask;
        }

        public ValueTask WriteAsync(SinkChunk chunk, CancellationToken cancellationToken)
        {
            foreach (var batch in chunk.Batches)
            {
                for (var r = 0; r < batch.Length; r++)
                {
                    var cells = new string[batch.ColumnCount];
                    for (var c = 0; c < cells.Length; c++)
                    {
                        cells[c] = Text(Value(batch.Column(c), r), batch.Schema.FieldsList[c].DataType);
                    }

                    Rows.Add(string.Join('\u001f', cells));
                }
            }

            return ValueTask.CompletedTask;
        }

        public ValueTask CompleteAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
