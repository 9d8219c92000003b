using System.Collections.Concurrent;
using System.Globalization;
using Apache.Arrow;
using EtlStream.Formats.Csv;
using EtlStream.Resilience;
using EtlStream.Sources;
using EtlStream.Tables;
using EtlStream.Transforms;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MySqlConnector;

namespace EtlStream.Sinks.StarRocks;

/// <summary>What a StarRocks sink did: loads, rows and bytes, for the run report and the measurements.</summary>
public sealed record StarRocksSinkStats(
    long Loads, long LoadsAlreadyCommitted, long Retries, long RowsSent, long RowsLoaded, long RowsFiltered, long RowsRejected,
    long BytesSent, long FilesCommitted, long FilesAlreadyLoaded, long ColumnsWidened, TimeSpan LoadTime);

/// <summary>
/// Loads chunks into StarRocks (or Doris) with Stream Load, exactly once. Each chunk's Arrow batches are encoded
/// once to a CSV body (tab separated, <c>\N</c> NULL, RFC 4180 enclose) in a pooled buffer and sent with a
/// <c>columns</c> header naming the columns in body order, so column order is right by construction. Labels are
/// deterministic (<see cref="StreamLoadLabel"/>): a retry or a rerun reuses them and the server commits once.
/// See <see cref="StreamLoadMode"/> for the per-file transaction and per-chunk label modes.
/// </summary>
public sealed partial class StarRocksSink : IBatchSink, IRejectingSink
{
    private readonly StarRocksSinkOptions _options;
    private readonly StreamLoadClient _client;
    private readonly RemoteRetry<StreamLoadTry> _retry;
    private readonly ILogger _logger;
    private readonly CsvArrowWriter _writer = new(CsvWriteOptions.StreamLoad);
    private readonly ConcurrentDictionary<string, FileTransaction> _transactions = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _schemaGate = new(1, 1);
    private readonly SemaphoreSlim _transactionSlots;
    private readonly OpenTransactionRecord _openRecord;
    private Func<IReadOnlyList<RejectedRow>, CancellationToken, ValueTask>? _rejects;
    private Schema? _schema;
    private string _shape = string.Empty;
    private string _columns = string.Empty;
    private LiveColumn?[] _live = [];
    private long _loads, _already, _retries, _rowsSent, _rowsLoaded, _rowsFiltered, _rowsRejected, _bytesSent, _filesCommitted, _filesAlready, _widened, _loadTicks;

    public StarRocksSink(StarRocksSinkOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ConfigException(errors.Select(e => $"starrocks sink: {e}").ToList());
        }

        _options = options;
        _rejects = options.OnRejected;
        _logger = logger ?? NullLogger.Instance;
        _client = new StreamLoadClient(options);
        _retry = new RemoteRetry<StreamLoadTry>(options.MaxAttempts, options.BackoffBase, options.BackoffCap);
        _transactionSlots = new SemaphoreSlim(options.MaxTransactions, options.MaxTransactions);
        _openRecord = new OpenTransactionRecord(
            options.StateDirectory ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "etlstream", "starrocks"),
            StreamLoadLabel.Prefix(options.Tenant, options.Database, options.Table));
    }

    public int MaxConcurrency => _options.MaxConcurrency;

    /// <summary>
    /// Transaction mode: one file fewer than <see cref="StarRocksSinkOptions.MaxTransactions"/>. The pipeline hands
    /// chunks over in file order, so at most this many files can still have chunks to come; with one transaction
    /// more than that, a file waiting for a transaction always waits for a file whose chunks have all been taken and
    /// which commits without a new load slot. Label mode holds nothing across chunks.
    /// </summary>
    public int MaxFilesInFlight => _options.Mode == StreamLoadMode.Transaction ? _options.MaxTransactions - 1 : int.MaxValue;

    /// <summary>The pipeline's rejects output gets the rows the server filtered, after the options' own receiver.</summary>
    public void ReceiveRejectsWith(Func<IReadOnlyList<RejectedRow>, CancellationToken, ValueTask> receiver)
    {
        ArgumentNullException.ThrowIfNull(receiver);
        var own = _options.OnRejected;
        _rejects = own is null ? receiver : async (rows, token) =>
        {
            await own(rows, token).ConfigureAwait(false);
            await receiver(rows, token).ConfigureAwait(false);
        };
    }

    public int PreferredChunkRows => _options.ChunkRows;

    public long PreferredChunkBytes => _options.ChunkBytes;

    /// <summary>Differences the schema check found that do not stop a load (extra nullable columns).</summary>
    public IReadOnlyList<string> SchemaWarnings { get; private set; } = [];

    public StarRocksSinkStats Stats => new(
        Interlocked.Read(ref _loads), Interlocked.Read(ref _already), Interlocked.Read(ref _retries), Interlocked.Read(ref _rowsSent),
        Interlocked.Read(ref _rowsLoaded), Interlocked.Read(ref _rowsFiltered), Interlocked.Read(ref _rowsRejected), Interlocked.Read(ref _bytesSent),
        Interlocked.Read(ref _filesCommitted), Interlocked.Read(ref _filesAlready), Interlocked.Read(ref _widened), TimeSpan.FromTicks(Interlocked.Read(ref _loadTicks)));

    public async ValueTask OpenAsync(Schema schema, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var problems = schema.FieldsList.Select(f => StarRocksSql.IdentifierProblem(f.Name)).OfType<string>().ToList();
        if (problems.Count > 0)
        {
            throw new ConfigException(problems.Select(p => $"starrocks sink: column {p}").ToList());
        }

        _schema = schema;
        _shape = StreamLoadLabel.ShapeHash(schema);
        _columns = string.Join(",", schema.FieldsList.Select(f => f.Name));
        _live = new LiveColumn?[schema.FieldsList.Count];
        if (_options.MySqlPort is not null)
        {
            // Missing or extra columns are reported before anything is loaded.
            await using var connection = await StarRocksFeSql.OpenAsync(_options, cancellationToken).ConfigureAwait(false);
            IReadOnlyList<LiveColumn> live;
            try
            {
                live = await StarRocksSql.ReadColumnsAsync(connection, _options.Database, _options.Table, cancellationToken).ConfigureAwait(false);
            }
            catch (MySqlException e)
            {
                throw StarRocksFeSql.Failure(_options, e, $"reading the columns of {_options.Database}.{_options.Table}");
            }

            var (errors, warnings) = StarRocksSql.Compare(schema, live, $"{_options.Database}.{_options.Table}");
            if (errors.Count > 0)
            {
                throw new ConfigException(errors.Select(e => $"starrocks sink: {e}").ToList());
            }

            SchemaWarnings = warnings;
            foreach (var w in warnings)
            {
                LogSchemaWarning(_logger, w);
            }

            for (var i = 0; i < _live.Length; i++)
            {
                _live[i] = live.First(c => c.Name.Equals(schema.FieldsList[i].Name, StringComparison.OrdinalIgnoreCase));
            }
        }

        // A silent FE fails the run here, in connect_timeout, rather than after every retry of the first load.
        await _client.ProbeAsync(cancellationToken).ConfigureAwait(false);
        if (_options.Mode == StreamLoadMode.Transaction)
        {
            // A run that died between begin and commit left a transaction the server would hold until its timeout.
            foreach (var label in _openRecord.Read())
            {
                await AbortQuietlyAsync(label, cancellationToken).ConfigureAwait(false);
                _openRecord.Remove(label);
                LogRolledBack(_logger, label);
            }
        }
    }

    public async ValueTask WriteAsync(SinkChunk chunk, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        var schema = _schema ?? throw new InvalidOperationException("OpenAsync was not called");
        var file = chunk.Source ?? throw new ArgumentException("a Stream Load chunk needs its source file: labels are made from it", nameof(chunk));
        if (_options.Mode == StreamLoadMode.Label)
        {
            await WaitForSharedSlotAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var label = StreamLoadLabel.For(_options.Tenant, _options.Database, _options.Table, file, chunk.Index, _shape);
                using var body = await EncodeAsync(chunk, file, cancellationToken).ConfigureAwait(false);
                if (body is not null)
                {
                    await LoadAsync(label, file, body, cancellationToken).ConfigureAwait(false);
                }
            }
            finally
            {
                _options.SharedSlots?.Release();
            }

            return;
        }

        var txn = _transactions.GetOrAdd(TransactionLabel(file), l => new FileTransaction(l));

        // Encoded before the file's gate: chunk n+1 is encoded while chunk n is on the wire (loads of one
        // transaction go one at a time). Still one body per WriteAsync in flight, so memory stays bounded.
        using var early = txn.AlreadyLoaded ? null : await EncodeAsync(chunk, file, cancellationToken).ConfigureAwait(false);
        await txn.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (txn.Failed is { } failed)
            {
                throw new StreamLoadException($"{file.Name}: an earlier chunk failed, the file's transaction was rolled back: {failed}", txn.Label);
            }

            if (!txn.AlreadyLoaded && !txn.HoldsSlot)
            {
                // Before begin and before any load slot: a file waiting here holds nothing an open transaction needs.
                await _transactionSlots.WaitAsync(cancellationToken).ConfigureAwait(false);
                txn.HoldsSlot = true;
            }

            if (!txn.Began && !txn.AlreadyLoaded && _options.Dialect == StreamLoadDialect.StarRocks)
            {
                await BeginAsync(txn, cancellationToken).ConfigureAwait(false);
            }

            if (txn.AlreadyLoaded)
            {
                ReleaseSlot(txn);
                return; // committed by an earlier run: nothing of this file is sent again
            }

            if (early is not null)
            {
                await WaitForSharedSlotAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    await LoadInTransactionAsync(txn, file, chunk.Index, early, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    _options.SharedSlots?.Release();
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            txn.Failed ??= e.Message;
            await RollbackAsync(txn, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
        finally
        {
            txn.Gate.Release();
        }
    }

    private Task WaitForSharedSlotAsync(CancellationToken cancellationToken) =>
        _options.SharedSlots is { } slots ? slots.WaitAsync(cancellationToken) : Task.CompletedTask;

    /// <summary>Gives the file's transaction slot back (once, whichever of commit, rollback or dispose comes first).</summary>
    private void ReleaseSlot(FileTransaction txn)
    {
        if (txn.TryGiveUpSlot())
        {
            _transactionSlots.Release();
        }
    }

    public async ValueTask FileCompleteAsync(SourceFile file, int chunks, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (_options.Mode != StreamLoadMode.Transaction || !_transactions.TryRemove(TransactionLabel(file), out var txn))
        {
            return;
        }

        try
        {
            await CommitFileAsync(txn, file, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ReleaseSlot(txn);
        }
    }

    private async Task CommitFileAsync(FileTransaction txn, SourceFile file, CancellationToken cancellationToken)
    {
        try
        {
            if (txn.AlreadyLoaded)
            {
                Interlocked.Increment(ref _filesAlready);
                LogAlreadyLoaded(_logger, file.Name, txn.Label);
                return;
            }

            if (!txn.Began && txn.DorisTransactions.Count == 0)
            {
                return;
            }

            if (_options.Dialect == StreamLoadDialect.StarRocks)
            {
                await TransactionStepAsync(txn.Label, "prepare", cancellationToken).ConfigureAwait(false);
                await TransactionStepAsync(txn.Label, "commit", cancellationToken).ConfigureAwait(false);
            }
            else
            {
                foreach (var (label, id) in txn.DorisTransactions)
                {
                    await DorisTwoPhaseAsync(label, id, "commit", cancellationToken).ConfigureAwait(false);
                }
            }

            txn.Began = false;
            _openRecord.Remove(txn.Label);
            Interlocked.Increment(ref _filesCommitted);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            await RollbackAsync(txn, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    public ValueTask CompleteAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        // A failed or cancelled run: whatever was begun and not committed goes, so nothing half-loaded lingers.
        foreach (var txn in _transactions.Values)
        {
            await RollbackAsync(txn, CancellationToken.None).ConfigureAwait(false);
        }

        _transactions.Clear();
        _client.Dispose();
        _schemaGate.Dispose();
        _transactionSlots.Dispose();
    }

    private string TransactionLabel(SourceFile file) =>
        StreamLoadLabel.For(_options.Tenant, _options.Database, _options.Table, file, null, _shape);


    private sealed class FileTransaction(string label)
    {
        public string Label { get; } = label;

        public SemaphoreSlim Gate { get; } = new(1, 1);

        public bool Began { get; set; }

        private int _holdsSlot;

        /// <summary>Holds one of the sink's transaction slots (<see cref="StarRocksSinkOptions.MaxTransactions"/>).</summary>
        public bool HoldsSlot
        {
            get => Volatile.Read(ref _holdsSlot) == 1;
            set => Volatile.Write(ref _holdsSlot, value ? 1 : 0);
        }

        public bool TryGiveUpSlot() => Interlocked.Exchange(ref _holdsSlot, 0) == 1;

        private volatile bool _alreadyLoaded;

        /// <summary>Read without the gate (to skip encoding), hence volatile.</summary>
        public bool AlreadyLoaded
        {
            get => _alreadyLoaded;
            set => _alreadyLoaded = value;
        }

        public string? Failed { get; set; }

        public List<(string Label, long TxnId)> DorisTransactions { get; } = [];
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "schema check: {Warning}")]
    private static partial void LogSchemaWarning(ILogger logger, string warning);

    [LoggerMessage(Level = LogLevel.Warning, Message = "rolled back transaction {Label} left open by an earlier run")]
    private static partial void LogRolledBack(ILogger logger, string label);

    [LoggerMessage(Level = LogLevel.Information, Message = "{File}: already committed under {Label}; nothing sent again")]
    private static partial void LogAlreadyLoaded(ILogger logger, string file, string label);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Table}.{Column}: widened VARCHAR({From}) to VARCHAR({To}) for longer values")]
    private static partial void LogWidened(ILogger logger, string table, string column, long from, int to);

    [LoggerMessage(Level = LogLevel.Warning, Message = "label {Label}: try {Attempt} did not commit ({Reason}); retrying with the same label")]
    private static partial void LogRetry(ILogger logger, string label, int attempt, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "could not read the rejected rows at {Url}")]
    private static partial void LogErrorUrlUnreadable(ILogger logger, string url);
}
