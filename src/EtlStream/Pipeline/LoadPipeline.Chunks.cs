using EtlStream.Formats;
using System.Runtime.ExceptionServices;
using System.Threading.Tasks.Dataflow;
using EtlStream.Compression;
using EtlStream.Formats.Csv;
using EtlStream.Memory;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using EtlStream.Sinks;
using EtlStream.Sources;
using EtlStream.Transforms;

namespace EtlStream.Pipeline;

public sealed partial class LoadPipeline
{
    /// <summary>A file's running totals, summed over its entries (read one after another).</summary>
    private sealed class EntryCounts
    {
        public long Rows { get; set; }

        public long Bytes { get; set; }

        public int Batches { get; set; }
    }

    /// <summary>What the readers hand the transform stage: batch <see cref="Sequence"/> of a file, or (no batch) the file's end after that many batches.</summary>
    private readonly record struct ParsedWork(SourceFile File, BoundTransform? Bound, TextBatch? Batch, int Sequence, MeshGrant? Grant);

    /// <summary>What reaches the load stage: chunk <see cref="Index"/> of a file, or (no batches) the file's end after that many chunks.</summary>
    private sealed record LoadItem(SourceFile File, int Index, List<HeldBatch>? Batches);

    /// <summary>A transformed batch and its share of the mesh's memory, given back together once the sink wrote it.</summary>
    private sealed record HeldBatch(TransformedBatch Batch, MeshGrant Grant) : IDisposable
    {
        public void Dispose()
        {
            Batch.Dispose();
            Grant.Dispose();
        }
    }

    /// <summary>A file's batches gathered towards the next chunk.</summary>
    private sealed class PendingChunk
    {
        public List<HeldBatch> Batches { get; private set; } = [];

        public long Rows { get; private set; }

        public long Bytes { get; private set; }

        /// <summary>The index the next chunk of this file gets.</summary>
        public int Index { get; private set; }

        public void Add(HeldBatch batch)
        {
            Batches.Add(batch);
            Rows += batch.Batch.Batch.Length;
            Bytes += Tables.ArrowBytes.Of(batch.Batch.Batch);
        }

        public List<HeldBatch> Take()
        {
            var taken = Batches;
            (Batches, Rows, Bytes) = ([], 0, 0);
            Index++;
            return taken;
        }
    }

    /// <summary>Counts a file's written chunks, so its completion waits for all of them, however they interleave.</summary>
    private sealed class FileWrites
    {
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _written;
        private int _expected = -1;

        public void ChunkWritten()
        {
            lock (_done)
            {
                if (++_written == _expected)
                {
                    _done.TrySetResult();
                }
            }
        }

        public Task AllWritten(int chunks)
        {
            lock (_done)
            {
                _expected = chunks;
                if (_written == chunks)
                {
                    _done.TrySetResult();
                }
            }

            return _done.Task;
        }
    }
}
