using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Apache.Arrow;
using EtlStream.Formats.Csv;
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
            await using var connection = await OpenSqlAsync(cancellationToken).ConfigureAwait(false);
            IReadOnlyList<LiveColumn> live;
            try
            {
                live = await StarRocksSql.ReadColumnsAsync(connection, _options.Database, _options.Table, cancellationToken).ConfigureAwait(false);
            }
            catch (MySqlException e)
            {
                throw SqlFailure(_options, e, $"reading the columns of {_options.Database}.{_options.Table}");
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

    // ---- encoding and the live VARCHAR lengths ----

    /// <summary>The chunk's CSV body, after widening columns or rejecting rows for the live VARCHAR lengths; null when no row is left.</summary>
    private async Task<PooledBufferWriter?> EncodeAsync(SinkChunk chunk, SourceFile file, CancellationToken cancellationToken)
    {
        var excluded = await ApplyVarcharPolicyAsync(chunk, file, cancellationToken).ConfigureAwait(false);
        long bytes = 0;
        foreach (var b in chunk.Batches)
        {
            foreach (var c in b.Arrays)
            {
                foreach (var buffer in c.Data.Buffers)
                {
                    bytes += buffer.Length;
                }
            }
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

    /// <summary>
    /// Values longer (in UTF-8 bytes) than the live column allows: the column is widened first, or their rows are
    /// rejected, per <see cref="StarRocksSinkOptions.Overflow"/>. Returns the rejected rows per batch, or null.
    /// </summary>
    private async Task<HashSet<int>?[]?> ApplyVarcharPolicyAsync(SinkChunk chunk, SourceFile file, CancellationToken cancellationToken)
    {
        HashSet<int>?[]? excluded = null;
        List<RejectedRow>? rejected = null;
        for (var c = 0; c < _live.Length; c++)
        {
            var live = Volatile.Read(ref _live[c]);
            if (live is not { MaxLength: { } limit } || !IsVarchar(live) || ArrowTypes.KindOf(_schema!.FieldsList[c].DataType) != ColumnKind.String)
            {
                continue;
            }

            var longest = 0;
            foreach (var batch in chunk.Batches)
            {
                var offsets = ((StringArray)batch.Column(c)).ValueOffsets;
                for (var r = 0; r < batch.Length; r++)
                {
                    longest = Math.Max(longest, offsets[r + 1] - offsets[r]);
                }
            }

            if (longest <= limit)
            {
                continue;
            }

            var policy = OverflowOf(_schema.FieldsList[c]);
            if (policy == VarcharOverflowPolicy.Widen && longest <= StarRocksSql.MaxVarcharBytes)
            {
                await WidenAsync(c, longest, cancellationToken).ConfigureAwait(false);
                continue;
            }

            var max = policy == VarcharOverflowPolicy.Widen ? StarRocksSql.MaxVarcharBytes : (int)limit;
            for (var b = 0; b < chunk.Batches.Count; b++)
            {
                var batch = chunk.Batches[b];
                var strings = (StringArray)batch.Column(c);
                for (var r = 0; r < batch.Length; r++)
                {
                    var length = strings.ValueOffsets[r + 1] - strings.ValueOffsets[r];
                    if (length <= max)
                    {
                        continue;
                    }

                    excluded ??= new HashSet<int>?[chunk.Batches.Count];
                    if ((excluded[b] ??= []).Add(r))
                    {
                        (rejected ??= []).Add(new RejectedRow(
                            file.Name, 0, c + 1, live.Name, Rules.MaxLength, strings.GetString(r),
                            $"{live.Name}: {length} UTF-8 bytes, the live column {_options.Database}.{_options.Table}.{live.Name} is VARCHAR({max})",
                            RawRow(batch, r)));
                    }
                }
            }
        }

        if (rejected is not null)
        {
            Interlocked.Add(ref _rowsRejected, rejected.Count);
            if (_rejects is { } callback)
            {
                await callback(rejected, cancellationToken).ConfigureAwait(false);
            }
        }

        return excluded;
    }

    private async Task WidenAsync(int column, int length, CancellationToken cancellationToken)
    {
        await _schemaGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var live = _live[column]!;
            if (live.MaxLength >= length)
            {
                return; // another chunk widened it already
            }

            try
            {
                await AlterAndWaitAsync(column, live, length, cancellationToken).ConfigureAwait(false);
            }
            catch (MySqlException e)
            {
                throw SqlFailure(_options, e, $"widening {_options.Table}.{live.Name} to VARCHAR({length})");
            }
        }
        finally
        {
            _schemaGate.Release();
        }
    }

    private async Task AlterAndWaitAsync(int column, LiveColumn live, int length, CancellationToken cancellationToken)
    {
        await using var connection = await OpenSqlAsync(cancellationToken).ConfigureAwait(false);
        var sql = StarRocksSql.WidenVarchar(_options.Database, _options.Table, live.Name, length, live.Nullable);
        await using (var cmd = new MySqlCommand(sql, connection))
        {
            await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        // StarRocks runs schema changes as jobs: the new length counts once information_schema shows it.
        var waited = Stopwatch.StartNew();
        while (true)
        {
            var columns = await StarRocksSql.ReadColumnsAsync(connection, _options.Database, _options.Table, cancellationToken).ConfigureAwait(false);
            var now = columns.FirstOrDefault(c => c.Name.Equals(live.Name, StringComparison.OrdinalIgnoreCase));
            if (now?.MaxLength >= length)
            {
                Volatile.Write(ref _live[column], now);
                break;
            }

            if (waited.Elapsed > _options.PollLimit)
            {
                throw new StreamLoadException($"{_options.Table}.{live.Name}: widening to VARCHAR({length}) did not finish in {_options.PollLimit}", string.Empty);
            }

            await Task.Delay(_options.PollInterval, cancellationToken).ConfigureAwait(false);
        }

        Interlocked.Increment(ref _widened);
        LogWidened(_logger, _options.Table, live.Name, live.MaxLength ?? 0, length);
    }

    private static bool IsVarchar(LiveColumn c) => c.DataType is "VARCHAR" or "CHAR";

    /// <summary>
    /// The column's policy for values longer than the LIVE column: the spec's <c>overflow: widen</c> widens; <c>reject</c>
    /// and <c>truncate</c> (the transform truncated to the spec's length already; cutting again to a shorter live
    /// length would store a value the spec never allowed) reject. Fields without a spec policy follow the sink option.
    /// </summary>
    private VarcharOverflowPolicy OverflowOf(Field field) =>
        field.Metadata?.TryGetValue(ArrowTypes.OverflowKey, out var policy) == true
            ? policy == "widen" ? VarcharOverflowPolicy.Widen : VarcharOverflowPolicy.Reject
            : _options.Overflow;

    private string RawRow(RecordBatch batch, int row)
    {
        using var slice = batch.Slice(row, 1);
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        _writer.Write(slice, output);
        return System.Text.Encoding.UTF8.GetString(output.WrittenSpan).TrimEnd('\n');
    }

    private Task<MySqlConnection> OpenSqlAsync(CancellationToken cancellationToken) => OpenSqlAsync(_options, cancellationToken);

    /// <summary>
    /// A connection to the FE's MySQL port, its login bounded by <c>connect_timeout=</c> and its statements by
    /// <c>timeout=</c>; a failure names the port (<c>starrocks fe mysql host:port</c>), never the password.
    /// </summary>
    internal static async Task<MySqlConnection> OpenSqlAsync(StarRocksSinkOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var connectSeconds = WholeSeconds(options.ConnectTimeout);
        var connection = new MySqlConnection(new MySqlConnectionStringBuilder
        {
            Server = options.Host,
            Port = (uint)(options.MySqlPort ?? throw new InvalidOperationException($"{options.Database}.{options.Table}: no MySQL port is set for schema statements.")),
            UserID = options.User,
            Password = options.Password,
            SslMode = options.UseTls ? MySqlSslMode.Preferred : MySqlSslMode.None,
            Pooling = false,
            ConnectionTimeout = (uint)connectSeconds,
            DefaultCommandTimeout = (uint)WholeSeconds(options.RequestTimeout),
        }.ConnectionString);
        try
        {
            // WaitAsync too: the connect timeout is the driver's, and a server silent after the TCP accept must not
            // depend on the driver seeing it.
            await connection.OpenAsync(cancellationToken).WaitAsync(TimeSpan.FromSeconds(connectSeconds + 1), cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch (Exception e) when (e is MySqlException or TimeoutException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            for (var inner = e; inner is not null; inner = inner.InnerException)
            {
                if (inner is TimeoutException or OperationCanceledException || inner.Message.StartsWith("Connect Timeout expired", StringComparison.Ordinal))
                {
                    throw new StreamLoadException(string.Create(CultureInfo.InvariantCulture,
                        $"{options.MySqlName}: no answer within {connectSeconds} s while connecting (connect_timeout={connectSeconds})"), e);
                }
            }

            throw new StreamLoadException($"{options.MySqlName}: cannot connect as {options.User}: {Redact(options, e.Message)}", e);
        }
    }

    /// <summary>
    /// A statement's failure on the FE's MySQL port, naming the port: a timeout says what was being done and how long
    /// it waited (<c>starrocks fe mysql host:port: no answer within 600 s while reading the table's columns (timeout=600)</c>).
    /// </summary>
    internal static StreamLoadException SqlFailure(StarRocksSinkOptions options, MySqlException e, string doing) =>
        new(e.ErrorCode == MySqlErrorCode.CommandTimeoutExpired
            ? string.Create(CultureInfo.InvariantCulture, $"{options.MySqlName}: no answer within {WholeSeconds(options.RequestTimeout)} s while {doing} (timeout={WholeSeconds(options.RequestTimeout)})")
            : $"{options.MySqlName}: {doing}: {Redact(options, e.Message)}", e);

    /// <summary>MySqlConnector counts in whole seconds: a fraction rounds up, so a wait is never shorter than asked.</summary>
    private static int WholeSeconds(TimeSpan span) => (int)Math.Max(1, Math.Ceiling(span.TotalSeconds));

    // ---- loads ----

    private List<KeyValuePair<string, string>> LoadHeaders(string label)
    {
        var doris = _options.Dialect == StreamLoadDialect.Doris;
        return
        [
            new("label", label),
            new("format", "csv"),
            new("columns", _columns),
            new("column_separator", "\\x09"),
            new(doris ? "line_delimiter" : "row_delimiter", "\\x0a"),
            new("enclose", "\""),
            new("max_filter_ratio", _options.MaxFilterRatio.ToString(CultureInfo.InvariantCulture)),
            new("strict_mode", _options.StrictMode ? "true" : "false"),
            new("timeout", _options.TimeoutSeconds.ToString(CultureInfo.InvariantCulture)),
        ];
    }

    private string StreamLoadPath => $"/api/{_options.Database}/{_options.Table}/_stream_load";

    /// <summary>A plain Stream Load under <paramref name="label"/> (Doris transaction mode: pre-committed, two-phase).</summary>
    private async Task<StreamLoadOutcome> LoadAsync(string label, SourceFile file, PooledBufferWriter body, CancellationToken cancellationToken, bool twoPhase = false)
    {
        var headers = LoadHeaders(label);
        if (twoPhase)
        {
            headers.Add(new("two_phase_commit", "true"));
        }

        var outcome = await SendWithRetriesAsync(label, file, StreamLoadPath, headers, body.Segment, cancellationToken).ConfigureAwait(false);
        await CountAsync(outcome, file, body.Written, cancellationToken).ConfigureAwait(false);
        return outcome;
    }

    private async Task LoadInTransactionAsync(FileTransaction txn, SourceFile file, int chunk, PooledBufferWriter body, CancellationToken cancellationToken)
    {
        if (_options.Dialect == StreamLoadDialect.Doris)
        {
            // Doris: each chunk is its own pre-committed transaction; all are committed when the file is complete.
            var label = StreamLoadLabel.For(_options.Tenant, _options.Database, _options.Table, file, chunk, _shape);
            _openRecord.Add(label);
            var outcome = await LoadAsync(label, file, body, cancellationToken, twoPhase: true).ConfigureAwait(false);
            if (outcome.Response is { TxnId: > 0 } r && !outcome.Reason.StartsWith("label already exists", StringComparison.Ordinal))
            {
                txn.DorisTransactions.Add((label, r.TxnId));
            }
            else
            {
                _openRecord.Remove(label); // committed by an earlier run
            }

            return;
        }

        var headers = LoadHeaders(txn.Label);
        headers.Add(new("db", _options.Database));
        headers.Add(new("table", _options.Table));
        var started = Stopwatch.GetTimestamp();
        var reply = await _client.SendAsync(HttpMethod.Put, "/api/transaction/load", headers, body.Segment, toBackend: true, "loading", cancellationToken).ConfigureAwait(false);
        Interlocked.Add(ref _loadTicks, Stopwatch.GetElapsedTime(started).Ticks);
        var outcome2 = StreamLoadClassifier.Classify(reply.Status, reply.Body);
        if (outcome2.Decision != StreamLoadDecision.Committed)
        {
            // The server rolls a transaction back on any failed load, and a load with no reply may or may not have
            // been appended: either way this file can only be loaded again from its start, by the next run.
            if (outcome2.HasFilteredRows)
            {
                await ReportFilteredAsync(outcome2.Response!, file, cancellationToken).ConfigureAwait(false);
            }

            throw Failure(txn.Label, $"{file.Name} chunk {chunk}: transaction load failed", reply, outcome2, isTransient: outcome2.Decision != StreamLoadDecision.Fail);
        }

        await CountAsync(outcome2, file, body.Written, cancellationToken).ConfigureAwait(false);
    }

    private async Task CountAsync(StreamLoadOutcome outcome, SourceFile file, long bytes, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _loads);
        Interlocked.Add(ref _bytesSent, bytes);
        if (outcome.Reason.StartsWith("label already exists", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _already);
            return;
        }

        if (outcome.Response is { } r)
        {
            Interlocked.Add(ref _rowsLoaded, r.NumberLoadedRows);
            Interlocked.Add(ref _rowsFiltered, r.NumberFilteredRows);
            if (outcome.HasFilteredRows)
            {
                await ReportFilteredAsync(r, file, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task BeginAsync(FileTransaction txn, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            _openRecord.Add(txn.Label); // before the request: a begin whose reply is lost still gets rolled back later
            var reply = await _client.SendAsync(HttpMethod.Post, "/api/transaction/begin", TransactionHeaders(txn.Label), null, toBackend: false, "beginning a transaction", cancellationToken).ConfigureAwait(false);
            var outcome = StreamLoadClassifier.Classify(reply.Status, reply.Body);
            var already = outcome.Reason.StartsWith("label already exists", StringComparison.Ordinal);
            if (outcome.Decision == StreamLoadDecision.Committed && already)
            {
                txn.AlreadyLoaded = true; // this file's transaction committed in an earlier run
                _openRecord.Remove(txn.Label);
                return;
            }

            if (outcome.Decision == StreamLoadDecision.Committed)
            {
                txn.Began = true;
                return;
            }

            if (attempt >= _options.MaxAttempts || outcome.Decision == StreamLoadDecision.Fail)
            {
                throw Failure(txn.Label, "begin transaction failed", reply, outcome, isTransient: outcome.Decision != StreamLoadDecision.Fail);
            }

            if (outcome.Decision == StreamLoadDecision.PollLabel)
            {
                // Ours, from a begin whose reply was lost (or a run that died): nothing of it can be trusted, so it goes.
                await AbortQuietlyAsync(txn.Label, cancellationToken).ConfigureAwait(false);
            }

            Interlocked.Increment(ref _retries);
            await Task.Delay(Backoff(attempt, outcome.Busy), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>prepare or commit, retried until the server says it is done; commit is idempotent on the server.</summary>
    private async Task TransactionStepAsync(string label, string step, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var reply = await _client.SendAsync(HttpMethod.Post, $"/api/transaction/{step}", TransactionHeaders(label), null, toBackend: false, step == "commit" ? "committing" : "preparing", cancellationToken).ConfigureAwait(false);
            var outcome = StreamLoadClassifier.Classify(reply.Status, reply.Body);
            if (outcome.Decision == StreamLoadDecision.Committed)
            {
                return;
            }

            if (step == "commit" && outcome.Decision is StreamLoadDecision.Fail or StreamLoadDecision.Unknown)
            {
                // A commit whose reply was lost may have been applied: the label state says.
                var state = await LabelStateAsync(label, cancellationToken).ConfigureAwait(false);
                if (StreamLoadClassifier.ClassifyLabelState(state) == StreamLoadDecision.Committed)
                {
                    return;
                }
            }

            if (attempt >= _options.MaxAttempts || outcome.Decision == StreamLoadDecision.Fail)
            {
                throw Failure(label, $"{step} transaction failed", reply, outcome, isTransient: outcome.Decision != StreamLoadDecision.Fail);
            }

            Interlocked.Increment(ref _retries);
            await Task.Delay(Backoff(attempt, outcome.Busy), cancellationToken).ConfigureAwait(false);
        }
    }

    private List<KeyValuePair<string, string>> TransactionHeaders(string label) =>
    [
        new("label", label),
        new("db", _options.Database),
        new("table", _options.Table),
        new("timeout", _options.TimeoutSeconds.ToString(CultureInfo.InvariantCulture)),
    ];

    private async Task DorisTwoPhaseAsync(string label, long txnId, string operation, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var reply = await _client.SendAsync(HttpMethod.Put, $"/api/{_options.Database}/{_options.Table}/_stream_load_2pc",
                [new("txn_id", txnId.ToString(CultureInfo.InvariantCulture)), new("txn_operation", operation)], null, toBackend: false, operation == "commit" ? "committing" : "rolling back", cancellationToken).ConfigureAwait(false);
            var outcome = StreamLoadClassifier.Classify(reply.Status, reply.Body);
            if (outcome.Decision == StreamLoadDecision.Committed ||
                (reply.Body?.Contains("already", StringComparison.OrdinalIgnoreCase) == true && operation == "commit" &&
                 StreamLoadClassifier.ClassifyLabelState(await LabelStateAsync(label, cancellationToken).ConfigureAwait(false)) == StreamLoadDecision.Committed))
            {
                _openRecord.Remove(label);
                return;
            }

            if (attempt >= _options.MaxAttempts || outcome.Decision == StreamLoadDecision.Fail)
            {
                throw Failure(label, $"two-phase {operation} of transaction {txnId} failed", reply, outcome, isTransient: outcome.Decision != StreamLoadDecision.Fail);
            }

            Interlocked.Increment(ref _retries);
            await Task.Delay(Backoff(attempt, outcome.Busy), cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task RollbackAsync(FileTransaction txn, CancellationToken cancellationToken)
    {
        if (txn.Began)
        {
            txn.Began = false;
            await AbortQuietlyAsync(txn.Label, cancellationToken).ConfigureAwait(false);
            _openRecord.Remove(txn.Label);
        }

        foreach (var (label, id) in txn.DorisTransactions)
        {
            try
            {
                await DorisTwoPhaseAsync(label, id, "abort", cancellationToken).ConfigureAwait(false);
            }
            catch (StreamLoadException)
            {
                // recorded in the open-transaction file: the next start tries again
            }
        }

        txn.DorisTransactions.Clear();
        ReleaseSlot(txn);
    }

    /// <summary>Rolls back a transaction by label; one that does not exist (any more) is fine.</summary>
    private async Task AbortQuietlyAsync(string label, CancellationToken cancellationToken)
    {
        if (_options.Dialect == StreamLoadDialect.Doris)
        {
            await _client.SendAsync(HttpMethod.Put, $"/api/{_options.Database}/{_options.Table}/_stream_load_2pc",
                [new("label", label), new("txn_operation", "abort")], null, toBackend: false, "rolling back", cancellationToken).ConfigureAwait(false);
            return;
        }

        await _client.SendAsync(HttpMethod.Post, "/api/transaction/rollback", TransactionHeaders(label), null, toBackend: false, "rolling back", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Sends a load until it is committed once. A reply that leaves the outcome unknown is followed by
    /// <c>get_load_state</c> before anything is re-sent; a running label is polled; every re-send reuses the label.
    /// </summary>
    private async Task<StreamLoadOutcome> SendWithRetriesAsync(
        string label, SourceFile file, string path, List<KeyValuePair<string, string>> headers, ArraySegment<byte> body, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var started = Stopwatch.GetTimestamp();
            var reply = await _client.SendAsync(HttpMethod.Put, path, headers, body, toBackend: true, "loading", cancellationToken).ConfigureAwait(false);
            Interlocked.Add(ref _loadTicks, Stopwatch.GetElapsedTime(started).Ticks);
            var outcome = StreamLoadClassifier.Classify(reply.Status, reply.Body);
            var decision = outcome.Decision;
            if (decision is StreamLoadDecision.Unknown or StreamLoadDecision.PollLabel)
            {
                decision = await ResolveLabelAsync(label, decision == StreamLoadDecision.PollLabel, cancellationToken).ConfigureAwait(false);
                if (decision == StreamLoadDecision.Committed)
                {
                    return new StreamLoadOutcome(StreamLoadDecision.Committed, "label already exists (resolved by get_load_state)", outcome.Response);
                }
            }

            switch (decision)
            {
                case StreamLoadDecision.Committed:
                    return outcome;
                case StreamLoadDecision.Fail:
                    if (outcome.HasFilteredRows)
                    {
                        await ReportFilteredAsync(outcome.Response!, file, cancellationToken).ConfigureAwait(false);
                    }

                    throw Failure(label, "load failed", reply, outcome, isTransient: false);
            }

            if (attempt >= _options.MaxAttempts)
            {
                throw Failure(label, $"load failed after {attempt} attempts", reply, outcome, isTransient: true);
            }

            LogRetry(_logger, label, attempt, outcome.Reason + (reply.TransportError is { } t ? $" ({t})" : ""));
            Interlocked.Increment(ref _retries);
            await Task.Delay(Backoff(attempt, outcome.Busy), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Asks <c>get_load_state</c> (polling while the label runs) whether a load under the label committed.</summary>
    private async Task<StreamLoadDecision> ResolveLabelAsync(string label, bool running, CancellationToken cancellationToken)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            var decision = StreamLoadClassifier.ClassifyLabelState(await LabelStateAsync(label, cancellationToken).ConfigureAwait(false));
            if (decision != StreamLoadDecision.PollLabel)
            {
                // Unknown (no answer): re-sending under the same label is still safe, the server refuses a second commit.
                return decision == StreamLoadDecision.Unknown && running ? StreamLoadDecision.Retry : decision;
            }

            if (waited.Elapsed > _options.PollLimit)
            {
                return StreamLoadDecision.Retry;
            }

            await Task.Delay(_options.PollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<string?> LabelStateAsync(string label, CancellationToken cancellationToken)
    {
        var reply = await _client.SendAsync(HttpMethod.Get, $"/api/{_options.Database}/get_load_state?label={Uri.EscapeDataString(label)}", [], null, toBackend: false, "asking a label's state", cancellationToken).ConfigureAwait(false);
        return reply.Status == 200 ? StreamLoadResponse.TryParse(reply.Body)?.LabelState : null;
    }

    /// <summary>Jittered exponential backoff with a cap ("full jitter"); a busy cluster gets the cap's half at least.</summary>
    private TimeSpan Backoff(int attempt, bool busy)
    {
        var ceiling = Math.Min(_options.BackoffCap.TotalMilliseconds, _options.BackoffBase.TotalMilliseconds * Math.Pow(2, attempt - 1));
        var floor = busy ? Math.Min(ceiling, _options.BackoffCap.TotalMilliseconds / 2) : 0;
        return TimeSpan.FromMilliseconds(floor + (Random.Shared.NextDouble() * (ceiling - floor)));
    }

    private async Task ReportFilteredAsync(StreamLoadResponse response, SourceFile file, CancellationToken cancellationToken)
    {
        if (response.ErrorURL is not { Length: > 0 } url)
        {
            return;
        }

        var text = await _client.GetTextAsync(url, cancellationToken).ConfigureAwait(false);
        if (text is null)
        {
            LogErrorUrlUnreadable(_logger, url);
            return;
        }

        var rows = StreamLoadErrorLog.Parse(text, file.Name);
        if (rows.Count > 0 && _rejects is { } callback)
        {
            await callback(rows, cancellationToken).ConfigureAwait(false);
        }
    }

    private StreamLoadException Failure(string label, string what, StreamLoadReply reply, StreamLoadOutcome outcome, bool isTransient)
    {
        var detail = reply.TransportError ?? (reply.Status is { } s && s != 200 ? $"HTTP {s}: {outcome.Reason}" : outcome.Reason);
        var url = outcome.Response?.ErrorURL;
        var message = $"{_options.Dialect} {_options.Database}.{_options.Table} label {label}: {what}: {detail}" + (url is { Length: > 0 } ? $" (rejected rows: {url})" : "");
        return new StreamLoadException(Redact(message), label, reply.Status, outcome.Response?.Status, url, isTransient);
    }

    private string Redact(string text) => Redact(_options, text);

    private static string Redact(StarRocksSinkOptions options, string text) =>
        options.Password.Length > 0 ? text.Replace(options.Password, "***", StringComparison.Ordinal) : text;

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
