using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Threading.Tasks.Dataflow;
using EtlStream.Formats.Csv;
using EtlStream.Memory;
using EtlStream.Observability;
using Microsoft.Extensions.Logging;
using EtlStream.Sinks;
using EtlStream.Sources;
using EtlStream.Transforms;

namespace EtlStream.Pipeline;

public sealed partial class LoadPipeline
{
    private async Task<LoadResult> RunMeshAsync(IReadOnlyList<SourceFile> files, TableTransform transform, IBatchSink sink, MemoryPlan plan, PipelineMetrics metrics, long started, CancellationToken cancellationToken)
    {
        if (sink is IRejectingSink rejecting)
        {
            rejecting.ReceiveRejectsWith(RecordSinkRejectsAsync);
        }

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var token = cts.Token;
        Exception? firstFault = null;

        void Fault(Exception e)
        {
            // Cancellation we caused ourselves after a fault is not the story; the fault is.
            if (e is OperationCanceledException && token.IsCancellationRequested)
            {
                return;
            }

            Interlocked.CompareExchange(ref firstFault, e, null);
            cts.Cancel();
        }

        // The sink opens (connects, reads the live table back, begins) while the first files are read and parsed:
        // nothing reaches it before it is open, and a failure to open stops the run as any fault does. Measured: a
        // database client's start-up (JIT, connecting) had the server waiting ~1 s for its first row.
        async Task OpenSinkAsync()
        {
            try
            {
                await sink.OpenAsync(transform.OutputSchema, token).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                Fault(e);
                throw;
            }
        }

        var opened = OpenSinkAsync();

        // A file is complete for the sink once its end marker has arrived and every chunk before it was written;
        // chunks of a file may be written concurrently, so completion is counted, not assumed from order.
        var fileWrites = new System.Collections.Concurrent.ConcurrentDictionary<SourceFile, FileWrites>(ReferenceEqualityComparer.Instance);
        var load = new ActionBlock<LoadItem>(
            async item =>
            {
                try
                {
                    await opened.ConfigureAwait(false);
                    var writes = fileWrites.GetOrAdd(item.File, _ => new FileWrites());
                    if (item.Batches is null)
                    {
                        await writes.AllWritten(item.Index).WaitAsync(token).ConfigureAwait(false);
                        using (_write.Measure())
                        {
                            await sink.FileCompleteAsync(item.File, item.Index, token).ConfigureAwait(false);
                        }

                        fileWrites.TryRemove(item.File, out _);
                        return;
                    }

                    await WriteChunkAsync(sink, item, metrics, token).ConfigureAwait(false);
                    writes.ChunkWritten();
                }
                catch (Exception e)
                {
                    Fault(e);
                    throw;
                }
            },
            new ExecutionDataflowBlockOptions { MaxDegreeOfParallelism = sink.MaxConcurrency, BoundedCapacity = sink.MaxConcurrency, CancellationToken = token });

        // Gathers each file's batches into sink-sized chunks; a chunk never holds rows of two files.
        var pending = new Dictionary<SourceFile, PendingChunk>(ReferenceEqualityComparer.Instance);
        var chunker = new ActionBlock<LoadItem>(
            async item =>
            {
                if (!pending.TryGetValue(item.File, out var chunk))
                {
                    pending[item.File] = chunk = new PendingChunk();
                }

                if (item.Batches is not null)
                {
                    // Closed at the sink's rows or at the plan's bytes (the sink's own bytes when it has them), whichever first.
                    chunk.Add(item.Batches[0]);
                    if (chunk.Rows < sink.PreferredChunkRows && chunk.Bytes < plan.ChunkBytes)
                    {
                        // Given back only when more of the file arrives: a reader waiting for memory must not wait for it.
                        item.Batches[0].Grant.SetParked(true);
                        return;
                    }
                }

                if (chunk.Batches.Count > 0)
                {
                    var index = chunk.Index; // Take moves it on to the next chunk's
                    var taken = chunk.Take();
                    taken.ForEach(static b => b.Grant.SetParked(false));
                    await SendOrDisposeAsync(load, new LoadItem(item.File, index, taken), token).ConfigureAwait(false);
                }

                if (item.Batches is null)
                {
                    pending.Remove(item.File);
                    await SendOrDisposeAsync(load, item with { Index = chunk.Index }, token).ConfigureAwait(false);
                }
            },
            new ExecutionDataflowBlockOptions { BoundedCapacity = 1, CancellationToken = token });

        // Outputs single-batch chunks (indexed by batch) and end-of-file markers, in each file's order. A sink that
        // takes batches one at a time is linked straight to it: a chunker in between would hold one more ~25 MB
        // batch for nothing.
        var transformBlock = new TransformBlock<ParsedWork, LoadItem>(
            async work =>
            {
                if (work.Batch is null)
                {
                    return new LoadItem(work.File, work.Sequence, null);
                }

                var handedOn = false;
                try
                {
                    TransformedBatch transformed;
                    using (_transform.Measure())
                    {
                        transformed = work.Bound!.Apply(work.Batch, token);
                    }

                    // The grant reserved room for the copy; one larger (a cast to wider values) is counted as it is.
                    work.Grant!.HoldAtLeast(work.Batch.MemoryBytes + transformed.MemoryBytes);
                    work.Batch.Dispose();
                    work.Grant.ShrinkTo(transformed.MemoryBytes);

                    var rejected = transformed.Rejected.Count;
                    metrics.BatchFiltered(transformed.RowsIn - transformed.Batch.Length - rejected);
                    if (rejected > 0)
                    {
                        metrics.BatchRejected(rejected);
                        await RecordRejectsAsync(transformed.Rejected, token).ConfigureAwait(false);
                    }

                    handedOn = true;
                    return new LoadItem(work.File, work.Sequence, [new HeldBatch(transformed, work.Grant)]);
                }
                catch (Exception e)
                {
                    Fault(e);
                    throw;
                }
                finally
                {
                    work.Batch.Dispose();
                    if (!handedOn)
                    {
                        work.Grant!.Dispose();
                    }
                }
            },
            new ExecutionDataflowBlockOptions
            {
                MaxDegreeOfParallelism = _options.TransformParallelism,
                // Counts batches waiting, being transformed and transformed-but-not-taken: each is ~30 MB.
                BoundedCapacity = _options.TransformParallelism,
                EnsureOrdered = true,
                CancellationToken = token,
            });
        var chunked = sink.PreferredChunkRows > 1 || sink.PreferredChunkBytes != long.MaxValue;
        if (chunked)
        {
            transformBlock.LinkTo(chunker, new DataflowLinkOptions { PropagateCompletion = true });
        }
        else
        {
            transformBlock.LinkTo(load, new DataflowLinkOptions { PropagateCompletion = true });
            chunker.Complete();
        }

        var fileResults = new FileLoadResult[files.Count];
        var parallelFiles = Math.Min(_options.ParallelFiles, Math.Max(1, sink.MaxFilesInFlight));
        var read = new ActionBlock<(SourceFile File, int Index)>(
            async work =>
            {
                try
                {
                    var done = fileResults[work.Index] = await ReadFileAsync(work.File, transform, transformBlock, metrics, token).ConfigureAwait(false);
                    var count = Interlocked.Increment(ref _filesDone);

                    // Silence is success: a milestone per file for a few files, every tenth of the way for many.
                    if (files.Count <= 10 || count % Math.Max(1, files.Count / 10) == 0)
                    {
                        LogFileRead(_logger, count, files.Count, done.Name, done.RowsRead, done.Elapsed.TotalSeconds);
                    }

                    Interlocked.Add(ref _compressedBytesDone, work.File.Length);
                    metrics.FileRead();
                }
                catch (Exception e)
                {
                    Fault(e);
                    throw;
                }
            },
            new ExecutionDataflowBlockOptions { MaxDegreeOfParallelism = parallelFiles, BoundedCapacity = parallelFiles, CancellationToken = token });

        // Completion flows downstream; every file's end marker has flushed its last chunk by then.
        _ = read.Completion.ContinueWith(t => transformBlock.Complete(), TaskScheduler.Default);
        if (chunked)
        {
            _ = chunker.Completion.ContinueWith(t => load.Complete(), TaskScheduler.Default);
        }

        Volatile.Write(ref _transformQueue, transformBlock);
        Volatile.Write(ref _loadQueue, load);
        var queues = EtlStreamMetrics.TrackQueues(transform.Spec.Name, () => transformBlock.InputCount, () => load.InputCount);
        try
        {
            // A fault while files are still being handed out (a sink that failed to open, a corrupt file) cancels
            // the sending too: that is reported below as the fault it is, after the blocks are drained.
            for (var i = 0; i < files.Count; i++)
            {
                if (!await read.SendAsync((files[i], i), token).ConfigureAwait(false))
                {
                    break;
                }
            }

            read.Complete();
            await Task.WhenAll(read.Completion, transformBlock.Completion, chunker.Completion, load.Completion).ConfigureAwait(false);
        }
        catch (Exception) when (firstFault is not null || cancellationToken.IsCancellationRequested)
        {
            // Reported below: the first fault, else the caller's cancellation.
        }
        finally
        {
            // Never leave with a block still running or the sink still opening: the caller disposes the sink next.
            read.Complete();
            await Task.WhenAll(read.Completion, transformBlock.Completion, chunker.Completion, load.Completion, opened)
                .ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).ConfigureAwait(false);
            queues.Dispose();
            Volatile.Write(ref _transformQueue, null);
            Volatile.Write(ref _loadQueue, null);
            DrainAndDispose(transformBlock, pending.Values);
        }

        if (firstFault is not null)
        {
            ExceptionDispatchInfo.Throw(firstFault);
        }

        cancellationToken.ThrowIfCancellationRequested();
        CheckRejectRatio(fileResults, transform.Spec.MaxRejectRatio);
        using (_write.Measure())
        {
            await sink.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }

        return new LoadResult
        {
            Files = files.Count,
            RowsRead = _rowsRead,
            RowsLoaded = _rowsLoaded,
            RowsFiltered = _rowsRead - _rowsLoaded - _rowsRejected,
            RowsRejected = _rowsRejected,
            RejectsByRule = new Dictionary<string, long>(_rejectsByRule),
            RejectsPath = _rowsRejected > 0 ? _rejects?.Path : null,
            BytesRead = _bytesRead,
            Elapsed = Stopwatch.GetElapsedTime(started),
            PeakWorkingSetBytes = PeakWorkingSet(),
            Stages = [_decompress, _parse, _transform, _write],
            FileResults = fileResults,
        };
    }

    private static async Task SendAsync(ITargetBlock<ParsedWork> target, ParsedWork work, CancellationToken token)
    {
        if (!await target.SendAsync(work, token).ConfigureAwait(false))
        {
            work.Batch?.Dispose();
            work.Grant?.Dispose();
            token.ThrowIfCancellationRequested();
            throw new InvalidOperationException("the transform stage stopped accepting batches");
        }
    }

    private async Task WriteChunkAsync(IBatchSink sink, LoadItem item, PipelineMetrics metrics, CancellationToken token)
    {
        var t0 = Stopwatch.GetTimestamp();
        try
        {
            var chunk = new SinkChunk(item.Batches!.ConvertAll(b => b.Batch.Batch), item.File, item.Index);
            try
            {
                await sink.WriteAsync(chunk, token).ConfigureAwait(false);
            }
            catch (Exception e) when (!(e is OperationCanceledException && token.IsCancellationRequested))
            {
                metrics.WriteFailed(e, Stopwatch.GetElapsedTime(t0));
                throw;
            }
            finally
            {
                _write.Add(Stopwatch.GetElapsedTime(t0));
            }

            var rows = chunk.Rows;
            Interlocked.Add(ref _rowsLoaded, rows);
            metrics.WriteSucceeded(rows, Stopwatch.GetElapsedTime(t0));
            metrics.FlushStageBusy();
        }
        finally
        {
            item.Batches!.ForEach(b => b.Dispose());
        }
    }

    private static async Task SendOrDisposeAsync(ITargetBlock<LoadItem> load, LoadItem item, CancellationToken token)
    {
        if (!await load.SendAsync(item, token).ConfigureAwait(false))
        {
            item.Batches?.ForEach(b => b.Dispose());
        }
    }

    /// <summary>After a fault: frees the batches still held in the mesh.</summary>
    private static void DrainAndDispose(TransformBlock<ParsedWork, LoadItem> transformBlock, IEnumerable<PendingChunk> pending)
    {
        while (transformBlock.TryReceive(out var left))
        {
            left.Batches?.ForEach(b => b.Dispose());
        }

        foreach (var chunk in pending)
        {
            chunk.Take().ForEach(b => b.Dispose());
        }
    }

    private static long PeakWorkingSet()
    {
        using var p = Process.GetCurrentProcess();
        p.Refresh();
        return p.PeakWorkingSet64;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "file {Done}/{Total} read: {File}, {Rows} rows in {Seconds:F1} s")]
    private static partial void LogFileRead(ILogger logger, long done, int total, string file, long rows, double seconds);
}
