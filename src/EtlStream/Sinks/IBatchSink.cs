using Apache.Arrow;

namespace EtlStream.Sinks;

/// <summary>
/// Where typed Arrow batches end up. The pipeline calls <see cref="OpenAsync"/> once, then
/// <see cref="WriteAsync"/> for every batch (at most <see cref="MaxConcurrency"/> at a time), then
/// <see cref="CompleteAsync"/> once when every batch was written. A run that fails or is cancelled is
/// disposed without <see cref="CompleteAsync"/>: a sink must then leave no half-written output behind.
/// </summary>
public interface IBatchSink : IAsyncDisposable
{
    /// <summary>How many <see cref="WriteAsync"/> calls may run at once.</summary>
    int MaxConcurrency { get; }

    /// <summary>Rows a sink wants per <see cref="WriteAsync"/> call; the chunk batcher gathers batches up to it.</summary>
    int PreferredChunkRows { get; }

    ValueTask OpenAsync(Schema schema, CancellationToken cancellationToken);

    /// <summary>Writes the batches of one chunk. The sink does not own them: the pipeline disposes them afterwards.</summary>
    ValueTask WriteAsync(IReadOnlyList<RecordBatch> chunk, CancellationToken cancellationToken);

    ValueTask CompleteAsync(CancellationToken cancellationToken);
}
