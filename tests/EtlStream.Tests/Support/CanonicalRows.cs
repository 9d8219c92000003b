using System.Globalization;
using System.Text;
using Apache.Arrow;
using Apache.Arrow.Types;
using EtlStream.Formats.Csv;
using EtlStream.Tables;

namespace EtlStream.Tests.Support;

/// <summary>
/// Rows as one canonical text per value, whichever database or driver they come from, so that what a sink stored
/// can be compared exactly with the Arrow batches it was given: decimals at their column's scale, dates
/// <c>yyyy-MM-dd</c>, timestamps <c>yyyy-MM-dd HH:mm:ss.ffffff</c>, booleans <c>true</c>/<c>false</c>, doubles round-trip.
/// </summary>
public static class CanonicalRows
{
    /// <summary>The canonical rows of Arrow batches (the reference).</summary>
    public static List<string?[]> Of(IEnumerable<RecordBatch> batches)
    {
        var rows = new List<string?[]>();
        foreach (var batch in batches)
        {
            for (var r = 0; r < batch.Length; r++)
            {
                var row = new string?[batch.ColumnCount];
                for (var c = 0; c < row.Length; c++)
                {
                    row[c] = OfArrow(batch.Column(c), r);
                }

                rows.Add(row);
            }
        }

        return rows;
    }

    /// <summary>A driver's value (or a value as text, e.g. a ClickHouse TabSeparated field after <see cref="FromTsv"/>) in canonical form for <paramref name="field"/>.</summary>
    public static string? Of(object? value, Field field)
    {
        if (value is null or DBNull)
        {
            return null;
        }

        var kind = ArrowTypes.KindOf(field.DataType);
        if (value is string text && kind != ColumnKind.String)
        {
            value = kind switch
            {
                ColumnKind.Decimal => decimal.Parse(text, CultureInfo.InvariantCulture),
                ColumnKind.Float64 => double.Parse(text, CultureInfo.InvariantCulture),
                ColumnKind.Bool => text is "1" or "true",
                ColumnKind.Date => DateOnly.ParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture),
                ColumnKind.Timestamp => DateTime.Parse(text, CultureInfo.InvariantCulture),
                _ => long.Parse(text, CultureInfo.InvariantCulture),
            };
        }

        return kind switch
        {
            ColumnKind.String => (string)value,
            ColumnKind.Decimal => Convert.ToDecimal(value, CultureInfo.InvariantCulture).ToString("F" + ((Decimal128Type)field.DataType).Scale, CultureInfo.InvariantCulture),
            ColumnKind.Float64 => Convert.ToDouble(value, CultureInfo.InvariantCulture).ToString("R", CultureInfo.InvariantCulture),
            ColumnKind.Bool => value is bool b ? (b ? "true" : "false") : Convert.ToInt64(value, CultureInfo.InvariantCulture) != 0 ? "true" : "false",
            ColumnKind.Date => value switch
            {
                DateOnly d => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                DateTime dt => dt.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                _ => throw new InvalidCastException($"date came back as {value.GetType()}"),
            },
            ColumnKind.Timestamp => ((DateTime)value).ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture),
            _ => Convert.ToInt64(value, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture),
        };
    }

    /// <summary>Rows read back, made canonical column by column with the schema they were loaded with.</summary>
    public static List<string?[]> Of(IEnumerable<object?[]> rows, Schema schema)
    {
        var result = new List<string?[]>();
        foreach (var row in rows)
        {
            var canonical = new string?[row.Length];
            for (var c = 0; c < row.Length; c++)
            {
                canonical[c] = Of(row[c], schema.FieldsList[c]);
            }

            result.Add(canonical);
        }

        return result;
    }

    /// <summary>Rows sorted as whole rows (ordinal), so two loads compare regardless of the order rows came back in.</summary>
    public static List<string> Sorted(IEnumerable<string?[]> rows) =>
        rows.Select(r => string.Join('\u0001', r.Select(v => v ?? "\u0000NULL"))).Order(StringComparer.Ordinal).ToList();

    private static string? OfArrow(IArrowArray array, int r)
    {
        if (array.IsNull(r))
        {
            return null;
        }

        switch (array)
        {
            case StringArray s:
                return s.GetString(r);
            case Int8Array a:
                return a.GetValue(r)!.Value.ToString(CultureInfo.InvariantCulture);
            case Int16Array a:
                return a.GetValue(r)!.Value.ToString(CultureInfo.InvariantCulture);
            case Int32Array a:
                return a.GetValue(r)!.Value.ToString(CultureInfo.InvariantCulture);
            case Int64Array a:
                return a.GetValue(r)!.Value.ToString(CultureInfo.InvariantCulture);
            case DoubleArray a:
                return a.GetValue(r)!.Value.ToString("R", CultureInfo.InvariantCulture);
            case BooleanArray a:
                return a.GetValue(r)!.Value ? "true" : "false";
            case Decimal128Array a:
                Span<byte> buffer = stackalloc byte[48];
                var unscaled = System.Buffers.Binary.BinaryPrimitives.ReadInt128LittleEndian(a.ValueBuffer.Span.Slice((a.Offset + r) * 16, 16));
                var n = CsvArrowWriter.WriteDecimal(unscaled, ((Decimal128Type)a.Data.DataType).Scale, buffer);
                return Encoding.ASCII.GetString(buffer[..n]);
            case Date32Array a:
                return DateOnly.FromDayNumber(719162 + a.Values[r]).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            case TimestampArray a:
                return new DateTime(DateTime.UnixEpoch.Ticks + (a.Values[r] * TimeSpan.TicksPerMicrosecond)).ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture);
            default:
                throw new NotSupportedException(array.Data.DataType.Name);
        }
    }

    /// <summary>
    /// A TabSeparated field as a value: <c>\N</c> is NULL, escapes undone. ClickHouse 18.16 prints the epoch's Date
    /// and DateTime (stored as 0) as zeros, which read as 1970-01-01.
    /// </summary>
    public static string? FromTsv(string field) => field switch
    {
        "\\N" => null,
        "0000-00-00" => "1970-01-01",
        "0000-00-00 00:00:00" => "1970-01-01 00:00:00",
        _ => EtlStream.Sinks.ClickHouse.ClickHouseDialect.UnescapeTabSeparated(field),
    };
}
