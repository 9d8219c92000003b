using Apache.Arrow;

namespace EtlStream.Tables;

/// <summary>The bytes a record batch holds in its Arrow buffers: what a chunk weighs against a sink's preferred chunk size, and what a body is sized from.</summary>
internal static class ArrowBytes
{
    public static long Of(RecordBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        long bytes = 0;
        foreach (var array in batch.Arrays)
        {
            foreach (var buffer in array.Data.Buffers)
            {
                bytes += buffer.Length;
            }
        }

        return bytes;
    }
}
