using EtlStream.Formats;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Threading.Tasks.Dataflow;
using EtlStream.Compression;
using EtlStream.Formats.Csv;
using EtlStream.Memory;
using EtlStream.Observability;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using EtlStream.Sinks;
using EtlStream.Sources;
using EtlStream.Tables;
using EtlStream.Transforms;

namespace EtlStream.Pipeline;

/// <summary>
/// The streaming mesh: files are read (in parallel across files), decompressed on their own task, parsed into
/// Arrow batches, transformed in parallel, gathered into sink-sized chunks and written with the sink's
/// concurrency. Every block is bounded, so a slow stage holds back the ones before it and memory stays flat
/// whatever the input size. The first fault anywhere cancels the rest and is the one rethrown.
/// </summary>
public sealed partial class LoadPipeline
{
    private readonly LoadOptions _options;
    private readonly StageClock _decompress = new("decompress");
    private readonly StageClock _parse = new("parse");
    private readonly StageClock _transform = new("transform");
    private readonly StageClock _write = new("write");
    private long _rowsRead;
    private long _rowsLoaded;
    private long _bytesRead;
    private long _filesDone;
    private long _compressedBytesDone;
    private long _sourceBytesRead;
    private long _rowsRejected;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _rejectsByRule = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _rejectsBySource = new();
    private RejectedRow? _firstReject;
    private RejectsWriter? _rejects;
    private readonly ILogger _logger;
    private TransformBlock<ParsedWork, LoadItem>? _transformQueue;
    private ActionBlock<LoadItem>? _loadQueue;

    public LoadPipeline(LoadOptions options, ILogger? logger = null)
    {
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ConfigException(errors);
        }

        _options = options;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>
    /// Loads <paramref name="files"/> into <paramref name="sink"/>. Without a table spec every column is a
    /// nullable string named from the first file's header. The sink is completed only when everything was written.
    /// </summary>
    public async Task<LoadResult> RunAsync(IReadOnlyList<SourceFile> files, TableSpec? spec, IBatchSink sink, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        spec ??= new TableSpec { Name = _options.TableName ?? TableNames.FromFileName(files.Count > 0 ? files[0].Name : ""), Columns = [], InferColumns = true };
        if (spec.InferColumns || spec.SchemaDrift == SchemaDrift.Evolve)
        {
            // Reading headers first swaps each read-once input (a pipe) for one that reads the same bytes again.
            var reread = files.ToArray();
            if (spec.InferColumns)
            {
                spec = await InferSpecAsync(reread, spec, cancellationToken).ConfigureAwait(false);
            }

            if (spec.SchemaDrift == SchemaDrift.Evolve)
            {
                spec = await EvolveAsync(reread, spec, cancellationToken).ConfigureAwait(false);
            }

            files = reread;
        }

        // The budget sizes batches and chunks for this run's files and sink; a batch_rows it cannot hold is refused
        // here, before the sink is touched, rather than found as an OutOfMemoryException mid-file.
        var uniqueColumns = spec.Columns.Count(c => c.Rules.Unique);
        var plan = MemoryPlan.For(_options, files.Count, sink.MaxConcurrency, sink.PreferredChunkRows, sink.PreferredChunkBytes, uniqueColumns);
        var planErrors = plan.Validate(spec.Csv);
        if (planErrors.Count > 0)
        {
            throw new ConfigException(planErrors);
        }

        spec = spec with { Csv = spec.Csv with { BatchBytes = plan.BatchBytes } };
        Plan = plan;
        Memory = new MeshMemory(plan.MeshBytes);
        var transform = new TableTransform(spec, _options.LoadDate, _options.TenantId, uniqueColumns > 0 ? plan.UniqueKeyBytes / uniqueColumns : 0);
        var metrics = new PipelineMetrics(spec.Name, [_decompress, _parse, _transform, _write]);
        _rejects = _options.RejectsPath is not null || _options.RejectsTable is not null
            ? new RejectsWriter(_options.RejectsPath, _options.RejectsTable, spec.Name)
            : null;
        try
        {
            return await RunMeshAsync(files, transform, sink, plan, metrics, started, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            metrics.FlushStageBusy(); // the busy-time counters end equal to the stage clocks, whatever the outcome
            if (_rejects is not null)
            {
                // Kept whatever the outcome: a failed run's rejects are the ones people read.
                await _rejects.CompleteAsync().ConfigureAwait(false);
                await _rejects.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>How the memory budget was split for the last run (null before one starts).</summary>
    public MemoryPlan? Plan { get; private set; }

    /// <summary>The last run's count of batch bytes in flight against <see cref="MemoryPlan.MeshBytes"/> (null before one starts).</summary>
    public MeshMemory? Memory { get; private set; }

    /// <summary>Progress so far, for a live display: files done, rows read and loaded, uncompressed bytes parsed.</summary>
    public (long FilesDone, long RowsRead, long RowsLoaded, long BytesRead) Progress =>
        (Interlocked.Read(ref _filesDone), Interlocked.Read(ref _rowsRead), Interlocked.Read(ref _rowsLoaded), Interlocked.Read(ref _bytesRead));

    /// <summary>
    /// Rows rejected so far, per rule, and the rejects file holding them (null before the first): a failed run's
    /// report shows the same rejects as its error.
    /// </summary>
    public (long RowsRejected, IReadOnlyDictionary<string, long> ByRule, string? RejectsPath) Rejects
    {
        get
        {
            var rejected = Interlocked.Read(ref _rowsRejected);
            return (rejected, new Dictionary<string, long>(_rejectsByRule), rejected > 0 ? _rejects?.Path : null);
        }
    }

    /// <summary>
    /// Source bytes (<see cref="SourceFile.Length"/>, compressed for a compressed file) of the files read to the
    /// end so far; files still being read are not counted. A coarse measure of work done, for an ETA.
    /// </summary>
    public long CompressedBytesOfFilesDone => Interlocked.Read(ref _compressedBytesDone);

    /// <summary>
    /// Source bytes (compressed for a compressed file) read so far, files still being read included: a live
    /// display's measure of progress within a file. Header checks before the load are not counted.
    /// </summary>
    public long SourceBytesRead => Interlocked.Read(ref _sourceBytesRead);

    /// <summary>
    /// Items waiting at the inputs of the running mesh, for a live display: <c>transform</c> (parsed batches) and
    /// <c>load</c> (chunks for the sink). Both 0 before and after a run.
    /// </summary>
    public IReadOnlyDictionary<string, int> QueueDepths => new Dictionary<string, int>(2)
    {
        ["transform"] = Volatile.Read(ref _transformQueue)?.InputCount ?? 0,
        ["load"] = Volatile.Read(ref _loadQueue)?.InputCount ?? 0,
    };

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

    private async Task<FileLoadResult> ReadFileAsync(SourceFile file, TableTransform transform, ITargetBlock<ParsedWork> target, PipelineMetrics metrics, CancellationToken token)
    {
        var started = Stopwatch.GetTimestamp();
        var total = new EntryCounts();
        var raw = new CountingReadStream(await file.Open(token).ConfigureAwait(false), n => Interlocked.Add(ref _sourceBytesRead, n));
        await using (raw.ConfigureAwait(false))
        {
            await foreach (var entry in Decompression.OpenAsync(raw, file.Name, transform.Spec.Decompression ?? _options.DecompressionLimits, token).ConfigureAwait(false))
            {
                await using (entry.ConfigureAwait(false))
                {
                    // A small entry is read on this task: a read-ahead task per entry costs more in hand-offs than it
                    // saves (an archive of 100,000 small entries spent most of its CPU in thread-pool spinning).
                    var input = entry.DeclaredLength <= _options.ReadAheadBufferBytes
                        ? new CountingReadStream(entry.Stream, static _ => { }, _decompress)
                        : (Stream)new ReadAheadStream(entry.Stream, _options.ReadAheadBuffers, _options.ReadAheadBufferBytes, _decompress, token);
                    await using (input.ConfigureAwait(false))
                    {
                        try
                        {
                            await ParseEntryAsync(file, entry.Name, input, LocalPathOf(file, entry), transform, target, metrics, total, token).ConfigureAwait(false);
                        }
                        catch (Exception e) when (e is not InvalidDataException and not OperationCanceledException)
                        {
                            // Altered bytes come out before the check that covers them (a bzip2 block's CRC, a zip
                            // entry's): report the corruption, not the CSV error it caused.
                            if (await Decompression.FindCorruptionAsync(input, token).ConfigureAwait(false) is { } corrupt)
                            {
                                throw corrupt;
                            }

                            throw;
                        }
                    }
                }
            }
        }

        await SendAsync(target, new ParsedWork(file, null, null, total.Batches, null), token).ConfigureAwait(false);

        return new FileLoadResult(file.Name, total.Rows, total.Bytes, file.Length, Stopwatch.GetElapsedTime(started));
    }

    /// <summary>The path of an entry that is a whole, uncompressed local file, for a format that reads in place (Parquet).</summary>
    private static string? LocalPathOf(SourceFile file, DecompressedEntry entry) =>
        entry.Kind == CompressionKind.None && entry.Name == file.Name ? file.LocalPath : null;

    private async Task ParseEntryAsync(SourceFile file, string name, Stream input, string? localPath, TableTransform transform, ITargetBlock<ParsedWork> target, PipelineMetrics metrics, EntryCounts counts, CancellationToken token)
    {
        var (format, formatted) = await InputFormats.ChooseAsync(input, transform.Spec, token).ConfigureAwait(false);
        using var parser = format.Open(formatted, name, transform.Spec, localPath);
        var header = await parser.ReadHeaderAsync(token).ConfigureAwait(false);
        if (header.Count == 0)
        {
            LogEmptyFile(_logger, name);
            return; // an empty file loads nothing
        }

        foreach (var warning in parser.HeaderWarnings)
        {
            LogFormatWarning(_logger, name, warning);
        }

        var bound = transform.Bind(name, header);
        if (bound.RenamedHeaders.Count > 0)
        {
            LogRenamedHeaders(_logger, name, string.Join(", ", bound.RenamedHeaders));
        }

        if (bound.Drift.Count > 0)
        {
            LogDrift(_logger, name, string.Join("; ", bound.Drift));
        }
        long lastBytes = 0;
        while (true)
        {
            TextBatch? batch;
            var t0 = Stopwatch.GetTimestamp();
            batch = await parser.ReadBatchAsync(token).ConfigureAwait(false);
            _parse.Add(Stopwatch.GetElapsedTime(t0));
            var bytes = parser.BytesConsumed - lastBytes;
            var rows = batch?.RowCount ?? 0;
            lastBytes = parser.BytesConsumed;
            Interlocked.Add(ref _bytesRead, bytes);
            Interlocked.Add(ref _rowsRead, rows);
            counts.Bytes += bytes;
            counts.Rows += rows;
            metrics.BatchParsed(rows, bytes);
            metrics.FlushStageBusy();
            if (batch is null)
            {
                foreach (var warning in parser.EntryWarnings)
                {
                    LogFormatWarning(_logger, name, warning);
                }

                return;
            }

            // Room for the batch and its transformed copy, taken before it enters the mesh: a reader whose batches
            // are huge (one record each) waits here for the sink to write earlier ones.
            MeshGrant grant;
            try
            {
                grant = await Memory!.AcquireAsync(2 * batch.MemoryBytes, token).ConfigureAwait(false);
            }
            catch
            {
                batch.Dispose();
                throw;
            }

            await SendAsync(target, new ParsedWork(file, bound, batch, counts.Batches++, grant), token).ConfigureAwait(false);
        }
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

    /// <summary>
    /// <c>schema_drift: evolve</c>: reads every file's header first (one more open per file, header only) and adds
    /// each source column the spec does not read as an optional nullable string column, in first-seen order, so the
    /// sink can add it to the table before the first row.
    /// </summary>
    private async Task<TableSpec> EvolveAsync(SourceFile[] files, TableSpec spec, CancellationToken token)
    {
        var columns = spec.Columns.ToList();
        var known = new HashSet<string>(columns.Where(c => c.Computed is null).Select(c => c.SourceName), StringComparer.Ordinal);
        var names = new HashSet<string>(columns.Select(c => c.Name), StringComparer.OrdinalIgnoreCase);
        await foreach (var (entry, header, _) in HeadersAsync(files, files.Length, spec, spec.Decompression ?? _options.DecompressionLimits, token).ConfigureAwait(false))
        {
            // Fields no column reads yet, by binding (not by name): a header repeated or differing only in case is a
            // field of its own. Empty headers stay unread, as before.
            var resolved = CsvHeader.Resolve(header);
            foreach (var (index, source) in TableTransform.UnreadFields(columns, resolved))
            {
                if (resolved.Raw[index].Length == 0 || !known.Add(source))
                {
                    continue;
                }

                var name = source;
                for (var n = 2; !names.Add(name); n++)
                {
                    name = $"{source}_{n}";
                }

                columns.Add(new ColumnSpec { Name = name, Type = ColumnType.String, Source = source, Optional = true, Trim = columns.Any(c => c.Trim) });
                LogEvolved(_logger, entry, PrintableText.Escape(name));
            }
        }

        return spec with { Columns = columns };
    }

    /// <summary>A spec without columns (or none at all) gets a nullable string column per header of the first file, read with the spec's CSV options.</summary>
    private async Task<TableSpec> InferSpecAsync(SourceFile[] files, TableSpec spec, CancellationToken token)
    {
        if (files.Length == 0)
        {
            throw new ConfigException(["no input files"]);
        }

        await foreach (var (entry, header, types) in HeadersAsync(files, 1, spec, spec.Decompression ?? _options.DecompressionLimits, token).ConfigureAwait(false))
        {
            if (header.Count > 0)
            {
                // A typed format's columns keep their types (a Parquet int64 stays int64); text gives strings.
                return spec.WithColumnsFrom(header, types is not null ? $"{entry}'s schema" : spec.Csv.HasHeader ? $"{entry}'s header" : $"{entry} (no header: columns named by position)", types);
            }
        }

        throw new SourceSchemaException(files[0].Name, "the first file has no header to name the columns from; pass --table");
    }

    /// <summary>
    /// Each entry's header, file by file (the first <paramref name="count"/> files), reading no further than the
    /// header (an empty entry gives an empty one). A read-once file in <paramref name="files"/> is replaced by one
    /// that reads again what the header took, then the rest: a pipe or FIFO is never opened twice.
    /// </summary>
    private async IAsyncEnumerable<(string Entry, IReadOnlyList<string> Header, IReadOnlyList<ColumnType?>? Types)> HeadersAsync(
        SourceFile[] files, int count, TableSpec spec, DecompressionLimits limits, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken token)
    {
        for (var i = 0; i < count; i++)
        {
            var file = files[i];
            var raw = await file.Open(token).ConfigureAwait(false);
            if (file.ReadOnce)
            {
                var replay = new ReplayReadStream(raw, file.Name, Math.Max(spec.Csv.MaxRecordBytes, 1L << 20));
                files[i] = file with { Open = _ => ValueTask.FromResult(replay.Replay()) };
                raw = replay;
            }

            await using (raw.ConfigureAwait(false))
            {
                await foreach (var entry in Decompression.OpenAsync(raw, file.Name, limits, token).ConfigureAwait(false))
                {
                    await using (entry.ConfigureAwait(false))
                    {
                        var (format, input) = await InputFormats.ChooseAsync(entry.Stream, spec, token).ConfigureAwait(false);
                        using var parser = format.Open(input, entry.Name, spec, LocalPathOf(file, entry));
                        var header = await parser.ReadHeaderAsync(token).ConfigureAwait(false);
                        yield return (entry.Name, header, parser.HeaderTypes);
                    }
                }
            }
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

    private static long PeakWorkingSet()
    {
        using var p = Process.GetCurrentProcess();
        p.Refresh();
        return p.PeakWorkingSet64;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "file {Done}/{Total} read: {File}, {Rows} rows in {Seconds:F1} s")]
    private static partial void LogFileRead(ILogger logger, long done, int total, string file, long rows, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{File}: new column {Column} added to the table (schema_drift: evolve)")]
    private static partial void LogEvolved(ILogger logger, string file, string column);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{File}: header names made unique: {Renamed}")]
    private static partial void LogRenamedHeaders(ILogger logger, string file, string renamed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{File}: the header differs from the spec, loaded by column name: {Drift}")]
    private static partial void LogDrift(ILogger logger, string file, string drift);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{File}: {Warning}")]
    private static partial void LogFormatWarning(ILogger logger, string file, string warning);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{File} is empty (no header, no rows): nothing loaded from it")]
    private static partial void LogEmptyFile(ILogger logger, string file);

    /// <summary>
    /// Rows the database refused: counted as loaded when their chunk was written, and outside max_reject_ratio, which
    /// is checked before the sink commits (the database's own limit, e.g. Stream Load's max_filter_ratio, governs them).
    /// </summary>
    private async ValueTask RecordSinkRejectsAsync(IReadOnlyList<RejectedRow> rows, CancellationToken token)
    {
        Interlocked.Add(ref _rowsLoaded, -rows.Count);
        await RecordRejectsAsync(rows, token, againstRatio: false).ConfigureAwait(false);
    }

    private async Task RecordRejectsAsync(IReadOnlyList<RejectedRow> rows, CancellationToken token, bool againstRatio = true)
    {
        Interlocked.Add(ref _rowsRejected, rows.Count);
        foreach (var r in rows)
        {
            _rejectsByRule.AddOrUpdate(r.Rule, 1, (_, n) => n + 1);
            if (againstRatio)
            {
                _rejectsBySource.AddOrUpdate(r.File, 1, (_, n) => n + 1);
            }
        }

        if (againstRatio)
        {
            Interlocked.CompareExchange(ref _firstReject, rows[0], null);
        }

        if (_rejects is not null)
        {
            await _rejects.WriteAsync(rows, token).ConfigureAwait(false);
        }
    }

    /// <summary>Fails the run, before anything is committed, when a file rejected more than its share of rows.</summary>
    private void CheckRejectRatio(FileLoadResult[] files, double maxRatio)
    {
        foreach (var f in files)
        {
            if (f is null)
            {
                continue;
            }

            var rejected = _rejectsBySource.Where(r => r.Key == f.Name || r.Key.StartsWith(f.Name + "!", StringComparison.Ordinal)).Sum(r => r.Value);
            if (rejected > 0 && rejected > maxRatio * f.RowsRead)
            {
                var where = _rejects?.Path is null ? "" : $"; rejected rows are in {_rejects.Path}";
                throw new RejectLimitException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"{f.Name}: {rejected:N0} of {f.RowsRead:N0} rows rejected ({100.0 * rejected / Math.Max(1, f.RowsRead):F2} %), over max_reject_ratio {maxRatio}; first: line {_firstReject?.Line}, column '{_firstReject?.Column}': {_firstReject?.Reason} (value '{_firstReject?.Value}'){where}"));
            }
        }
    }
}
