using Apache.Arrow;
using EtlStream.Sources;
using EtlStream.Tables;

namespace EtlStream.Sinks.StarRocks;

/// <summary>A chunk's CSV body for Stream Load, encoded once into a pooled buffer and re-sent as is by retries and redirects.</summary>
public sealed partial class StarRocksSink
{
    /// <summary>The chunk's CSV body, after widening columns or rejecting rows for the live VARCHAR lengths; null when no row is left.</summary>
    private async Task<PooledBufferWriter?> EncodeAsync(SinkChunk chunk, SourceFile file, CancellationToken cancellationToken)
    {
        var excluded = await ApplyVarcharPolicyAsync(chunk, file, cancellationToken).ConfigureAwait(false);
        long bytes = 0;
        foreach (var b in chunk.Batches)
        {
            bytes += ArrowBytes.Of(b);
        }

        var body = new PooledBufferWriter((int)Math.Min(bytes + (bytes / 4), int.MaxValue / 2));
        long rows = 0;
        try
        {
            for (var i = 0; i < chunk.Batches.Count; i++)
            {
                var batch = chunk.Batches[i];
                if (excluded?[i] is not { Count: > 0 } skip)
                {
                    _writer.Write(batch, body);
                    rows += batch.Length;
                    continue;
                }

                // Runs of kept rows between the rejected ones, as zero-copy slices.
                var start = 0;
                for (var row = 0; row <= batch.Length; row++)
                {
                    if (row < batch.Length && !skip.Contains(row))
                    {
                        continue;
                    }

                    if (row > start)
                    {
                        using var slice = batch.Slice(start, row - start);
                        _writer.Write(slice, body);
                        rows += row - start;
                    }

                    start = row + 1;
                }
            }
        }
        catch
        {
            body.Dispose();
            throw;
        }

        if (rows == 0)
        {
            body.Dispose();
            return null;
        }

        Interlocked.Add(ref _rowsSent, rows);
        return body;
    }

    private string RawRow(RecordBatch batch, int row)
    {
        using var slice = batch.Slice(row, 1);
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        _writer.Write(slice, output);
        return System.Text.Encoding.UTF8.GetString(output.WrittenSpan).TrimEnd('\n');
    }
}
