using EtlStream.Formats;
using EtlStream.Tables;

namespace EtlStream.Transforms;

/// <summary>A row the table did not take: where it came from, the rule it broke and the whole raw row.</summary>
public sealed record RejectedRow(string File, long Line, int Field, string Column, string Rule, string Value, string Reason, string RawRow);

/// <summary>
/// The bad values of one batch, handled by the table's <see cref="OnError"/> policy: <c>fail_file</c> throws the
/// first, <c>null_value</c> turns conversion failures into NULL, <c>reject_row</c> records the row. A NOT NULL
/// violation rejects the row whatever the policy (unless the file fails).
/// </summary>
internal sealed class RowErrors(OnError policy)
{
    private readonly Dictionary<int, (DataConversionException Error, string Rule)> _rejected = [];

    public int Count => _rejected.Count;

    public bool IsRejected(int row) => _rejected.ContainsKey(row);

    /// <summary>Handles a bad value; returns normally when the caller should store NULL and go on.</summary>
    public void Fail(DataConversionException error, int row, string rule)
    {
        if (policy == OnError.FailFile)
        {
            throw error;
        }

        if (policy == OnError.NullValue && rule == Rules.Conversion)
        {
            return; // stored as NULL; declared rules and NOT NULL still reject
        }

        _rejected.TryAdd(row, (error, rule)); // the first broken rule of a row is the one reported
    }

    /// <summary>
    /// Rejects the rows the input format could not read (whatever the policy: under fail_file the format has failed
    /// the file already) and drops them from <paramref name="rows"/>; returns how many rows are left.
    /// </summary>
    public int RejectBroken(TextBatch batch, Span<int> rows)
    {
        foreach (var b in batch.Broken)
        {
            _rejected[b.Row] = (new DataConversionException(batch.Source, batch.LineOf(b.Row), 0, "", "", "", "", b.Reason), Rules.Format);
        }

        var kept = 0;
        foreach (var row in rows)
        {
            if (!_rejected.ContainsKey(row))
            {
                rows[kept++] = row;
            }
        }

        return kept;
    }

    /// <summary>The rejected rows with their raw text, taken while the batch's buffers are alive.</summary>
    public List<RejectedRow> Materialize(TextBatch batch, byte delimiter)
    {
        var rows = new List<RejectedRow>(_rejected.Count);
        foreach (var (row, (e, rule)) in _rejected.OrderBy(r => r.Key))
        {
            rows.Add(new RejectedRow(e.File, e.Line, e.Field, e.Column, rule, e.Value, e.Reason, RawRow(batch, row, (char)delimiter)));
        }

        return rows;
    }

    private static string RawRow(TextBatch batch, int row, char delimiter)
    {
        if (batch.RawRecord(row) is { } raw)
        {
            return raw;
        }

        var fields = new string[batch.ColumnCount];
        for (var c = 0; c < fields.Length; c++)
        {
            ref readonly var data = ref batch.Data(c);
            var text = data.IsNull(row) ? "" : System.Text.Encoding.UTF8.GetString(data.Value(row));
            fields[c] = text.AsSpan().IndexOfAny([delimiter, '"', '\n', '\r']) >= 0 ? "\"" + text.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : text;
        }

        return string.Join(delimiter, fields);
    }
}

/// <summary>The rule names rejects are counted by.</summary>
public static class Rules
{
    public const string Conversion = "conversion";
    public const string NotNull = "not_null";
    public const string MaxLength = "max_length";
    public const string AcceptedValues = "accepted_values";
    public const string Range = "range";
    public const string Regex = "regex";
    public const string Unique = "unique";
    public const string Encoding = "encoding";

    /// <summary>A record the input format could not read: malformed JSON, a record over max_record_bytes.</summary>
    public const string Format = "format";
}
