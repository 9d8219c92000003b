using EtlStream.Formats.Csv;

namespace EtlStream.Tables.Inference;

/// <summary>
/// Detects a CSV file's dialect from its first bytes, by parsing them as the load would:
/// <list type="bullet">
/// <item>delimiter: of <c>, ; TAB |</c>, the one that splits every record of the prefix into the same number of
/// fields, more than one; the most fields wins, then the order listed. None: <c>,</c> (one column).</item>
/// <item>quote: <c>"</c>, or <c>'</c> when the prefix has no <c>"</c> and fields start with <c>'</c>.</item>
/// <item>header: the first record is a header when, in some column whose other values all have a type (a number,
/// bool, date), its value has none (a name). When every column is text this cannot be told and a header is
/// assumed, as most files have one; a note says so.</item>
/// </list>
/// </summary>
internal static class CsvDialectSniffer
{
    /// <summary>Bytes of the (decompressed) entry looked at.</summary>
    public const int PrefixBytes = 1 << 20;

    private static readonly byte[] Delimiters = [(byte)',', (byte)';', (byte)'\t', (byte)'|'];

    /// <summary>The dialect of an entry beginning with <paramref name="prefix"/> (<paramref name="complete"/>: the whole entry), with a note when the header was assumed.</summary>
    public static async Task<(CsvOptions Options, string? Note)> SniffAsync(ReadOnlyMemory<byte> prefix, bool complete, string source, CancellationToken cancellationToken)
    {
        var quote = (byte)'"';
        if (prefix.Span.IndexOf((byte)'"') < 0 && StartsAField(prefix.Span, (byte)'\''))
        {
            quote = (byte)'\'';
        }

        var records = complete ? prefix : prefix[..WholeRecords(prefix.Span, quote)];
        var best = CsvOptions.Default with { Quote = quote, HasHeader = false };
        var bestFields = 1;
        foreach (var delimiter in Delimiters)
        {
            var options = best with { Delimiter = delimiter };
            var fields = await ConsistentFieldsAsync(records, options, source, cancellationToken).ConfigureAwait(false);
            if (fields > bestFields)
            {
                best = options;
                bestFields = fields;
            }
        }

        var (header, note) = await HasHeaderAsync(records, best, source, cancellationToken).ConfigureAwait(false);
        return (best with { HasHeader = header }, note);
    }

    /// <summary>The fields every record of <paramref name="records"/> has under <paramref name="options"/>, or 0 when they differ or do not parse.</summary>
    private static async Task<int> ConsistentFieldsAsync(ReadOnlyMemory<byte> records, CsvOptions options, string source, CancellationToken cancellationToken)
    {
        try
        {
            using var parser = new CsvArrowParser(AsStream(records), source, options);
            var header = await parser.ReadHeaderAsync(cancellationToken).ConfigureAwait(false);
            while (await parser.ReadBatchAsync(cancellationToken).ConfigureAwait(false) is { } batch)
            {
                batch.Dispose();
            }

            return header.Count;
        }
        catch (CsvFormatException)
        {
            return 0;
        }
    }

    private static async Task<(bool Header, string? Note)> HasHeaderAsync(ReadOnlyMemory<byte> records, CsvOptions options, string source, CancellationToken cancellationToken)
    {
        ColumnSampler[] first = [], rest = [];
        var rows = 0L;
        try
        {
            using var parser = new CsvArrowParser(AsStream(records), source, options);
            var header = await parser.ReadHeaderAsync(cancellationToken).ConfigureAwait(false);
            first = New(header.Count);
            rest = New(header.Count);
            while (await parser.ReadBatchAsync(cancellationToken).ConfigureAwait(false) is { } batch)
            {
                using (batch)
                {
                    var skip = rows == 0 ? 1 : 0;
                    if (skip == 1 && batch.RowCount > 0)
                    {
                        SpecInference.Observe(batch, first, 0, 1);
                    }

                    SpecInference.Observe(batch, rest, Math.Min(skip, batch.RowCount), batch.RowCount);
                    rows += batch.RowCount;
                }
            }
        }
        catch (CsvFormatException)
        {
            // Not parseable as one table: the sample read that follows reports where, with the load's own message.
            return (true, null);
        }

        if (rows < 2)
        {
            return (true, "the first row is read as the header: the file has no other row to compare it with");
        }

        var anyTyped = false;
        for (var c = 0; c < rest.Length; c++)
        {
            if (!rest[c].IsTyped)
            {
                continue;
            }

            anyTyped = true;
            if (first[c].Result("").Values > 0 && !first[c].IsTyped)
            {
                return (true, null);
            }
        }

        return anyTyped
            ? (false, "no header: the first row has the types of the rest (columns are named by position)")
            : (true, "the first row is read as the header: every column is text, so this could not be checked");
    }

    private static ColumnSampler[] New(int n)
    {
        var samplers = new ColumnSampler[n];
        for (var i = 0; i < n; i++)
        {
            samplers[i] = new ColumnSampler();
        }

        return samplers;
    }

    private static MemoryStream AsStream(ReadOnlyMemory<byte> bytes) =>
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray(bytes, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(bytes.ToArray(), writable: false);

    /// <summary>The length of the prefix's whole records: up to the last line break outside quotes.</summary>
    private static int WholeRecords(ReadOnlySpan<byte> prefix, byte quote)
    {
        var quoted = false;
        var end = 0;
        for (var i = 0; i < prefix.Length; i++)
        {
            var b = prefix[i];
            if (b == quote)
            {
                quoted = !quoted;
            }
            else if (b == (byte)'\n' && !quoted)
            {
                end = i + 1;
            }
        }

        // One record longer than the prefix: parse what there is; a broken quote then rules every delimiter out.
        return end > 0 ? end : prefix.Length;
    }

    /// <summary>Whether <paramref name="quote"/> opens a field somewhere: at a line start or after a candidate delimiter.</summary>
    private static bool StartsAField(ReadOnlySpan<byte> prefix, byte quote)
    {
        for (var i = 0; i < prefix.Length; i++)
        {
            if (prefix[i] == quote && (i == 0 || prefix[i - 1] is (byte)'\n' or (byte)'\r' || Delimiters.AsSpan().Contains(prefix[i - 1])))
            {
                return true;
            }
        }

        return false;
    }
}
