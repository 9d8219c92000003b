using System.Diagnostics;
using System.Threading.Tasks.Dataflow;
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

    // The counters above are per run and never reset: a second run would report the first one's totals as its own.
    private int _started;

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
    /// An instance runs once (its counters are the run's): a second call throws <see cref="InvalidOperationException"/>.
    /// </summary>
    public async Task<LoadResult> RunAsync(IReadOnlyList<SourceFile> files, TableSpec? spec, IBatchSink sink, CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("a LoadPipeline runs once; make a new one per run");
        }

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
}
