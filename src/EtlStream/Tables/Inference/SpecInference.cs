using EtlStream.Formats;

namespace EtlStream.Tables.Inference;

/// <summary>
/// Infers a table's columns from the first records of any <see cref="IRecordReader"/> (CSV, JSON, …: every format
/// yields text fields, and the types are read from that text, as the load reads them). Conservative: a column gets a
/// type only when every sampled value fits it (<see cref="ColumnSampler"/> has the rules), so the spec loads its own
/// sample with no rejects. Memory is one batch and a few counters per column.
/// </summary>
public static class SpecInference
{
    public const int DefaultSampleRows = 10_000;

    /// <summary>Samples the first <paramref name="sampleRows"/> records (fewer when the entry has fewer) of <paramref name="reader"/>.</summary>
    public static async Task<InferredTable> InferAsync(IRecordReader reader, int sampleRows, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentOutOfRangeException.ThrowIfLessThan(sampleRows, 1);
        var header = await reader.ReadHeaderAsync(cancellationToken).ConfigureAwait(false);
        var samplers = new ColumnSampler[header.Count];
        for (var i = 0; i < samplers.Length; i++)
        {
            samplers[i] = new ColumnSampler();
        }

        long rows = 0;
        while (rows < sampleRows && await reader.ReadBatchAsync(cancellationToken).ConfigureAwait(false) is { } batch)
        {
            using (batch)
            {
                var take = (int)Math.Min(batch.RowCount, sampleRows - rows);
                Observe(batch, samplers, 0, take);
                rows += take;
            }
        }

        var columns = new InferredColumn[samplers.Length];
        for (var i = 0; i < columns.Length; i++)
        {
            columns[i] = samplers[i].Result(header[i]);
        }

        return new InferredTable(header, columns, rows);
    }

    /// <summary>Feeds rows [<paramref name="from"/>, <paramref name="to"/>) of <paramref name="batch"/> to one sampler per column.</summary>
    internal static void Observe(TextBatch batch, ColumnSampler[] samplers, int from, int to)
    {
        var columns = Math.Min(batch.ColumnCount, samplers.Length);
        for (var c = 0; c < columns; c++)
        {
            ref readonly var data = ref batch.Data(c);
            var sampler = samplers[c];
            for (var row = from; row < to; row++)
            {
                if (data.IsNull(row))
                {
                    sampler.ObserveNull();
                }
                else
                {
                    sampler.Observe(data.Value(row));
                }
            }
        }
    }
}

/// <summary>What a sample of one entry says: its header, a column per field and how many records were sampled.</summary>
public sealed record InferredTable(IReadOnlyList<string> Header, IReadOnlyList<InferredColumn> Columns, long RowsSampled)
{
    /// <summary>
    /// The spec's columns: named by <see cref="ColumnNaming"/> (with <c>source:</c> where the header differs), typed,
    /// NULL-ness from the sample, and a blank read as NULL in a typed column (<c>null: [""]</c>) so that it loads.
    /// </summary>
    /// <param name="nestedPaths">The header holds nested paths (JSON), flattened with <c>__</c>.</param>
    public IReadOnlyList<ColumnSpec> ToColumnSpecs(bool nestedPaths = false)
    {
        var names = ColumnNaming.For(Header, nestedPaths);
        var specs = new ColumnSpec[Columns.Count];
        for (var i = 0; i < specs.Length; i++)
        {
            var c = Columns[i];
            specs[i] = new ColumnSpec
            {
                Name = names[i].Name,
                Source = names[i].Source,
                Type = c.Type,
                Format = c.Format,
                Nullable = c.Nullable,
                NullTokens = c.BlankIsNull ? [""] : [],
                Trim = c.TrimBlanks,
            };
        }

        return specs;
    }
}
