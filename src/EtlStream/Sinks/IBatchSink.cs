using Apache.Arrow;
using EtlStream.Sources;

namespace EtlStream.Sinks;

/// <summary>
/// Where typed Arrow batches end up. The pipeline calls <see cref="OpenAsync"/> once, then
/// <see cref="WriteAsync"/> for every chunk (at most <see cref="MaxConcurrency"/> at a time), then
/// <see cref="FileCompleteAsync"/> once per source file after all of that file's chunks were written, then
/// <see cref="CompleteAsync"/> once when every file was written. A run that fails or is cancelled is disposed
/// without <see cref="CompleteAsync"/>: a sink must then leave no half-written output behind that it has not
/// committed on purpose (per file, in <see cref="FileCompleteAsync"/>).
/// </summary>
public interface IBatchSink : IAsyncDisposable
{
    /// <summary>How many <see cref="WriteAsync"/> calls may run at once.</summary>
    int MaxConcurrency { get; }

    /// <summary>
    /// Source files the sink can take chunks of at once; the pipeline reads no more files at once than this (nor
    /// than its own parallel-files option). A sink that holds a resource per file from its first chunk to
    /// <see cref="FileCompleteAsync"/> (a database transaction) bounds it so that files cannot wait on each other.
    /// </summary>
    int MaxFilesInFlight => int.MaxValue;

    /// <summary>Rows a sink wants per <see cref="WriteAsync"/> call; the chunk batcher gathers batches up to it.</summary>
    int PreferredChunkRows { get; }

    /// <summary>
    /// Arrow bytes a sink wants per <see cref="WriteAsync"/> call at most (e.g. a Stream Load's size): the chunk
    /// batcher closes a chunk at whichever of this and <see cref="PreferredChunkRows"/> comes first.
    /// </summary>
    long PreferredChunkBytes => long.MaxValue;

    ValueTask OpenAsync(Schema schema, CancellationToken cancellationToken);

    /// <summary>Writes the batches of one chunk. The sink does not own them: the pipeline disposes them afterwards.</summary>
    ValueTask WriteAsync(SinkChunk chunk, CancellationToken cancellationToken);

    /// <summary>
    /// Every chunk of <paramref name="file"/> (indexes 0 to <paramref name="chunks"/> − 1; none for a file with no
    /// rows) was written. A sink that makes each source file atomic commits it here.
    /// </summary>
    ValueTask FileCompleteAsync(SourceFile file, int chunks, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    ValueTask CompleteAsync(CancellationToken cancellationToken);
}

/// <summary>
/// A sink whose database can refuse rows the pipeline passed (Stream Load's filtered rows behind <c>ErrorURL</c>,
/// values over a live column's length): the pipeline hands it, before <see cref="IBatchSink.OpenAsync"/>, the
/// receiver that puts such rows in the run's rejects output and counts, beside the rows the transform rejected.
/// </summary>
internal interface IRejectingSink
{
    void ReceiveRejectsWith(Func<IReadOnlyList<Transforms.RejectedRow>, CancellationToken, ValueTask> receiver);
}

/// <summary>
/// Rows for one <see cref="IBatchSink.WriteAsync"/> call: never from more than one source file, so that a sink can
/// name a chunk by (<see cref="Source"/>, <see cref="Index"/>) — the identity Stream Load labels and the load
/// ledger are made from. <see cref="Source"/> is null for rows that come from no one file (rejects, tests).
/// </summary>
public sealed record SinkChunk(IReadOnlyList<RecordBatch> Batches, SourceFile? Source = null, int Index = 0)
{
    public long Rows
    {
        get
        {
            long rows = 0;
            foreach (var b in Batches)
            {
                rows += b.Length;
            }

            return rows;
        }
    }
}
