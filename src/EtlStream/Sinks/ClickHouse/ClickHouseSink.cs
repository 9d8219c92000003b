using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Apache.Arrow;
using EtlStream.Security;
using EtlStream.Sinks.Sql;

namespace EtlStream.Sinks.ClickHouse;

/// <summary>
/// Loads batches into ClickHouse through its HTTP interface: up to <see cref="ClickHouseSinkOptions.MaxConcurrency"/>
/// <c>INSERT … FORMAT RowBinary</c> requests stream for the whole run, each chunk encoded by
/// <see cref="ClickHouseRowBinaryEncoder"/> (a format every ClickHouse from 18.16 on reads) into an idle one's body,
/// into the run's staging
/// table (see <see cref="SqlStagedSink"/>), made <c>AS</c> the target when it exists so both share engine and
/// partitioning. ClickHouse has no transactions: <see cref="CompleteAsync"/> publishes an append into a MergeTree
/// table by attaching the staging table's partitions (<c>ALTER TABLE t ATTACH PARTITION ID … FROM staging</c>: its
/// parts are hard-linked, not copied; each partition appears whole), into other engines with
/// <c>INSERT INTO t SELECT * FROM staging</c> (rows may appear part by part during that statement), never a failed
/// run's rows; a replace with <c>RENAME TABLE t TO old, staging TO t</c> (18.16 has no EXCHANGE TABLES: for an instant
/// between the two renames the table is absent, and a query then fails rather than reading partial content).
/// </summary>
internal sealed class ClickHouseSink : SqlStagedSink
{
    private static readonly int MinDate = 0;
    private static readonly int MaxDate = new DateOnly(2105, 12, 31).DayNumber - ArrowValues.UnixEpochDayNumber;
    private static readonly long MaxTimestampMicros = (MaxDate + 1L) * 86_400_000_000L - 1;

    private readonly ClickHouseSinkOptions _options;
    private readonly ConcurrentBag<StreamedInsert> _idleInserts = [];
    private readonly List<StreamedInsert> _inserts = [];
    private HttpClient? _http;
    private Task? _stagingChecked;

    public ClickHouseSink(ClickHouseSinkOptions options)
        : base(ClickHouseDialect.Instance, options)
    {
        _options = options;
        ClickHouseDialect.Instance.ValidateIdentifier(options.Database);
    }

    protected override string Qualify(string table) => Dialect.Quote(_options.Database) + "." + Dialect.Quote(table);

    protected override async Task ConnectAsync(CancellationToken cancellationToken)
    {
        // No client-wide timeout: a whole run's INSERT lasts as long as the run; statements get Options.Timeout each.
        _http = new HttpClient(new SocketsHttpHandler { ConnectTimeout = _options.ConnectTimeout }) { BaseAddress = _options.Endpoint, Timeout = Timeout.InfiniteTimeSpan };
        var credentials = Convert.ToBase64String(Encoding.UTF8.GetBytes(_options.User + ":" + (_options.Password ?? string.Empty)));
        if (!string.IsNullOrEmpty(_options.Password))
        {
            Redaction.Protect(credentials); // a proxy echoing the Authorization header is scrubbed too
        }

        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", credentials);

        // A bad address or password fails now, and a server that accepts and never answers within the connect timeout.
        await SendAsync(string.Empty, new StringContent("SELECT 1", Encoding.UTF8, "text/plain"), cancellationToken, dispose: true, timeout: _options.ConnectTimeout, waitingFor: "while connecting").ConfigureAwait(false);
    }

    /// <summary>Where the server is, for messages: <c>clickhouse 127.0.0.1:8123</c>.</summary>
    private string Server => string.Create(CultureInfo.InvariantCulture, $"clickhouse {_options.Endpoint.Host}:{_options.Endpoint.Port}");

    protected override async ValueTask DisconnectAsync()
    {
        foreach (var insert in TakeInserts())
        {
            // Still open: the run failed. The INSERT fails on the cut body; its rows are only in staging, dropped.
            insert.Body.Complete(new OperationCanceledException("the load was abandoned"));
            try
            {
                await insert.Request.ConfigureAwait(false);
            }
            catch (Exception e) when (IsDatabaseError(e) || e is OperationCanceledException)
            {
                // the abandoned insert's own error; the run's error is already on its way
            }

            await insert.Body.DisposeAsync().ConfigureAwait(false);
        }

        _http?.Dispose();
        _http = null;
    }

    protected override async Task<IReadOnlyList<SqlColumn>?> ReadLiveColumnsAsync(string table, CancellationToken cancellationToken)
    {
        var text = await QueryAsync(
            $"SELECT name, type FROM system.columns WHERE database = {Dialect.Literal(_options.Database)} AND table = {Dialect.Literal(table)} FORMAT TabSeparated",
            cancellationToken).ConfigureAwait(false);
        var columns = new List<SqlColumn>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var tab = line.IndexOf('\t', StringComparison.Ordinal);
            var type = ClickHouseDialect.UnescapeTabSeparated(line[(tab + 1)..]);
            columns.Add(new SqlColumn(ClickHouseDialect.UnescapeTabSeparated(line[..tab]), type, type.StartsWith("Nullable(", StringComparison.Ordinal)));
        }

        return columns.Count == 0 ? null : columns;
    }

    protected override async Task ExecuteAsync(string sql, CancellationToken cancellationToken) =>
        await QueryAsync(sql, cancellationToken).ConfigureAwait(false);

    protected override async Task<IReadOnlyList<string?>?> QueryFirstRowAsync(string sql, CancellationToken cancellationToken)
    {
        var text = await QueryAsync(sql + " FORMAT TabSeparated", cancellationToken).ConfigureAwait(false);
        var line = text.Split('\n', 2)[0];
        return line.Length == 0 ? null : [.. line.Split('\t').Select(f => f == "\\N" ? null : ClickHouseDialect.UnescapeTabSeparated(f))];
    }

    /// <summary>
    /// Each chunk is fed, batch by batch, into the body of an INSERT that is already running, so the server parses
    /// rows while the next batch is encoded and no chunk is ever buffered whole. A chunk takes an idle INSERT or
    /// starts one: with up to <see cref="SqlStagedSink.MaxConcurrency"/> chunks at once, that many INSERTs run for
    /// the whole run, and the server parses and writes parts on as many threads.
    /// </summary>
    protected override async Task BulkLoadAsync(SinkChunk chunk, CancellationToken cancellationToken)
    {
        await LazyInitializer.EnsureInitialized(ref _stagingChecked, () => CheckStagingColumnsAsync(cancellationToken)).ConfigureAwait(false);
        if (!_idleInserts.TryTake(out var insert))
        {
            var body = new ChunkPipeStream(capacity: 4);
            insert = new StreamedInsert(body, SendAsync(InsertUrl(), new StreamContent(body), CancellationToken.None, dispose: true, timeout: Timeout.InfiniteTimeSpan));
            lock (_inserts)
            {
                _inserts.Add(insert);
            }
        }

        try
        {
            await insert.Body.FeedAsync(chunk.Batches, (batch, body) =>
            {
                CheckRanges(batch);
                ClickHouseRowBinaryEncoder.Write(batch, body);
            }, insert.Scratch, insert.Request, $"{Describe}: the INSERT ended before the data did.", cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _idleInserts.Add(insert);
        }
    }

    /// <summary>One INSERT request of the run, its body a pipe the chunks are encoded into.</summary>
    private sealed record StreamedInsert(ChunkPipeStream Body, Task<string> Request)
    {
        public ArrayBufferWriter<byte> Scratch { get; } = new(1 << 20);
    }

    private List<StreamedInsert> TakeInserts()
    {
        lock (_inserts)
        {
            List<StreamedInsert> all = [.. _inserts];
            _inserts.Clear();
            _idleInserts.Clear();
            return all;
        }
    }

    /// <summary>
    /// RowBinary carries no column names or types: bytes sent to a table of other columns would be read as other
    /// values without an error. So the table the rows go into is read back once and must have exactly the data's
    /// columns and types, in order, before the first byte is sent.
    /// </summary>
    private async Task CheckStagingColumnsAsync(CancellationToken cancellationToken)
    {
        var live = await ReadLiveColumnsAsync(StagingTable, cancellationToken).ConfigureAwait(false) ?? [];
        static string Shape(IEnumerable<SqlColumn> columns) => string.Join(", ", columns.Select(c => c.Name + " " + c.Type));
        if (Shape(live) != Shape(Columns))
        {
            throw new InvalidOperationException(
                $"{Describe}: the staging table has columns ({Shape(live)}), the data has ({Shape(Columns)}); nothing was sent.");
        }
    }

    private string InsertUrl() =>
        "?query=" + Uri.EscapeDataString($"INSERT INTO {Qualify(StagingTable)} ({string.Join(", ", Columns.Select(c => Dialect.Quote(c.Name)))}) FORMAT RowBinary")
        + "&max_insert_block_size=" + _options.MaxInsertBlockSize.ToString(CultureInfo.InvariantCulture)
        + "&input_format_allow_errors_num=0&input_format_allow_errors_ratio=0";

    /// <summary>Ends the run's streamed INSERT, so that staging holds every row before the key check and the publish.</summary>
    protected override async Task FinishBulkLoadAsync(CancellationToken cancellationToken)
    {
        var inserts = TakeInserts();
        try
        {
            inserts.ForEach(insert => insert.Body.Complete());

            // The INSERTs stream for the whole run, so only now, with every byte sent, can their answer be timed.
            var answered = Task.WhenAll(inserts.Select(insert => insert.Request));
            try
            {
                await answered.WaitAsync(_options.Timeout, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                throw new TimeoutException(NoAnswer(_options.Timeout, $"to the INSERT into {Describe} after its data was sent"));
            }
        }
        finally
        {
            foreach (var insert in inserts)
            {
                await insert.Body.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    protected override async Task PublishAsync(CancellationToken cancellationToken)
    {
        var target = Qualify(Table);
        var staging = Qualify(StagingTable);
        if (TargetState == TargetTableState.Missing)
        {
            await QueryAsync($"RENAME TABLE {staging} TO {target}", cancellationToken).ConfigureAwait(false);
        }
        else if (Mode == SqlWriteMode.Replace)
        {
            await QueryAsync($"RENAME TABLE {target} TO {Qualify(RetiredTable)}, {staging} TO {target}", cancellationToken).ConfigureAwait(false);
            await QueryAsync($"DROP TABLE {Qualify(RetiredTable)}", cancellationToken).ConfigureAwait(false);
        }
        else
        {
            if (Mode == SqlWriteMode.Merge)
            {
                await DeleteMergedKeysAsync(target, staging, cancellationToken).ConfigureAwait(false);
            }

            var partitions = await StagedPartitionsAsync(cancellationToken).ConfigureAwait(false);
            if (partitions is null)
            {
                await QueryAsync($"INSERT INTO {target} SELECT * FROM {staging}", cancellationToken).ConfigureAwait(false);
            }
            else
            {
                foreach (var partition in partitions)
                {
                    await QueryAsync($"ALTER TABLE {target} ATTACH PARTITION ID {Dialect.Literal(partition)} FROM {staging}", cancellationToken).ConfigureAwait(false);
                }
            }

            await QueryAsync($"DROP TABLE {staging}", cancellationToken).ConfigureAwait(false);
        }

        // ClickHouse has no transactions: the ledger rows follow the publish. A crash between the two leaves the rows
        // published and unbooked: the next run loads those files again (an append then holds them twice; a merge
        // replaces them by themselves; a refresh reloads anyway).
        if (_options.Ledger is { } stamp && SqlLedger.InsertValuesSql(Dialect, Qualify(LedgerStamp.Table), stamp, FilesWritten) is { } ledgerRows)
        {
            await QueryAsync(SqlLedger.CreateTableSql(Dialect, Qualify(LedgerStamp.Table)), cancellationToken).ConfigureAwait(false);
            await QueryAsync(ledgerRows, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// ClickHouse 18.16 has no upsert, so a merge deletes the target's rows whose key the run brings, with a mutation
    /// (<c>ALTER TABLE … DELETE</c>, asynchronous: waited for in <c>system.mutations</c>), then inserts the staged rows.
    /// Not atomic: between the two, readers miss those keys; a crash there leaves them missing until the rerun, which
    /// (the run's files not being booked) merges them again. A merge is idempotent, so a rerun never duplicates.
    /// </summary>
    private async Task DeleteMergedKeysAsync(string target, string staging, CancellationToken cancellationToken)
    {
        var keys = Key.Count == 1 ? KeyList : "(" + KeyList + ")";
        await QueryAsync($"ALTER TABLE {target} DELETE WHERE {keys} IN (SELECT {KeyList} FROM {staging})", cancellationToken).ConfigureAwait(false);
        var pending = $"SELECT count() FROM system.mutations WHERE database = {Dialect.Literal(_options.Database)} AND table = {Dialect.Literal(Table)} AND is_done = 0";
        var deadline = DateTime.UtcNow + _options.Timeout;
        while ((await QueryAsync(pending, cancellationToken).ConfigureAwait(false)).Trim() != "0")
        {
            if (DateTime.UtcNow > deadline)
            {
                // 18.16 retries a failing mutation for ever and reports no reason: say where to look.
                throw new TimeoutException($"{Describe}: the merge's DELETE mutation did not finish within {_options.Timeout}; see system.mutations. The staged rows were not inserted.");
            }

            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>What a database's ledger table says is committed into <paramref name="target"/>; empty when there is no ledger table yet.</summary>
    public static async Task<IReadOnlyList<LedgerRow>> ReadLedgerAsync(ClickHouseSinkOptions options, string tenant, string target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var sink = new ClickHouseSink(options with { Table = LedgerStamp.Table, Ledger = null });
        await using (sink.ConfigureAwait(false))
        {
            await sink.ConnectAsync(cancellationToken).ConfigureAwait(false);
            var d = sink.Dialect;
            if ((await sink.QueryAsync($"EXISTS TABLE {sink.Qualify(LedgerStamp.Table)}", cancellationToken).ConfigureAwait(false)).Trim() != "1")
            {
                return [];
            }

            var text = await sink.QueryAsync(
                $"SELECT source_name, source_version, rows, run_id FROM {sink.Qualify(LedgerStamp.Table)} WHERE tenant = {d.Literal(tenant)} AND target = {d.Literal(target)} ORDER BY committed_at FORMAT TabSeparated",
                cancellationToken).ConfigureAwait(false);
            var rows = new List<LedgerRow>();
            foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var f = line.Split('\t');
                rows.Add(new LedgerRow(ClickHouseDialect.UnescapeTabSeparated(f[0]), ClickHouseDialect.UnescapeTabSeparated(f[1]), long.Parse(f[2], CultureInfo.InvariantCulture), ClickHouseDialect.UnescapeTabSeparated(f[3])));
            }

            return rows;
        }
    }

    /// <summary>Runs statements for init-db (database, tables' checks) with the sink's connection and error reporting.</summary>
    public static async Task RunStatementAsync(ClickHouseSinkOptions options, string sql, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var sink = new ClickHouseSink(options with { Ledger = null });
        await using (sink.ConfigureAwait(false))
        {
            await sink.ConnectAsync(cancellationToken).ConfigureAwait(false);
            await sink.QueryAsync(sql, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A target that matches the data gets a staging table of its own engine and partitioning, so partitions can move
    /// over; one whose columns differ (a refresh recreating it) must not, or staging would take the old columns.
    /// </summary>
    protected override string CreateStagingSql() =>
        TargetState != TargetTableState.Matching ? base.CreateStagingSql() : $"CREATE TABLE {Qualify(StagingTable)} AS {Qualify(Table)}";

    /// <summary>
    /// The staging table's partition ids when the target is a MergeTree table (whose partitions can be attached from a
    /// table of the same structure); null for other engines, which get an INSERT … SELECT.
    /// </summary>
    private async Task<IReadOnlyList<string>?> StagedPartitionsAsync(CancellationToken cancellationToken)
    {
        var engine = (await QueryAsync(
            $"SELECT engine FROM system.tables WHERE database = {Dialect.Literal(_options.Database)} AND name = {Dialect.Literal(Table)} FORMAT TabSeparated",
            cancellationToken).ConfigureAwait(false)).Trim();
        if (!engine.EndsWith("MergeTree", StringComparison.Ordinal))
        {
            return null;
        }

        var ids = await QueryAsync(
            $"SELECT DISTINCT partition_id FROM system.parts WHERE database = {Dialect.Literal(_options.Database)} AND table = {Dialect.Literal(StagingTable)} AND active FORMAT TabSeparated",
            cancellationToken).ConfigureAwait(false);
        return [.. ids.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(ClickHouseDialect.UnescapeTabSeparated)];
    }

    protected override bool IsDatabaseError(Exception error) =>
        error is ClickHouseException or HttpRequestException or IOException or TaskCanceledException or TimeoutException;

    /// <summary>
    /// ClickHouse 18.16 would not store these values as sent (DateTime has whole seconds from 1970, Date starts in
    /// 1970), so they fail the run here with the column and value instead.
    /// </summary>
    private void CheckRanges(RecordBatch batch)
    {
        for (var c = 0; c < batch.ColumnCount; c++)
        {
            switch (batch.Column(c))
            {
                case Date32Array dates:
                    for (var r = 0; r < dates.Length; r++)
                    {
                        if (dates.IsValid(r) && dates.Values[r] is var d && (d < MinDate || d > MaxDate))
                        {
                            throw OutOfRange(c, ArrowValues.ToDate(dates, r).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), "dates from 1970-01-01 to 2105-12-31");
                        }
                    }

                    break;
                case TimestampArray stamps:
                    for (var r = 0; r < stamps.Length; r++)
                    {
                        if (!stamps.IsValid(r))
                        {
                            continue;
                        }

                        var at = ArrowValues.ToDateTime(stamps, r);
                        var micros = (at.Ticks - DateTime.UnixEpoch.Ticks) / TimeSpan.TicksPerMicrosecond;
                        if (micros < 0 || micros > MaxTimestampMicros || at.Ticks % TimeSpan.TicksPerSecond != 0)
                        {
                            throw OutOfRange(c, at.ToString("yyyy-MM-dd HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture),
                                "whole seconds from 1970-01-01 00:00:00 to 2105-12-31 23:59:59");
                        }
                    }

                    break;
            }
        }
    }

    private ArgumentException OutOfRange(int column, string value, string range) =>
        new($"{Describe}: column \"{Columns[column].Name}\" value {value} cannot be stored as {Columns[column].Type} (it holds {range}).");

    private Task<string> QueryAsync(string sql, CancellationToken cancellationToken)
    {
        var content = new StringContent(sql, Encoding.UTF8, "text/plain");
        return SendAsync(string.Empty, content, cancellationToken, dispose: true, timeout: _options.Timeout, waitingFor: "for " + Describe);
    }

    private string NoAnswer(TimeSpan timeout, string waitingFor) =>
        string.Create(CultureInfo.InvariantCulture, $"{Server}: no answer within {timeout.TotalSeconds:0.###} s {waitingFor}");

    /// <param name="timeout">The longest wait for the whole answer; infinite for the run's streamed INSERTs (timed once their data is sent).</param>
    /// <param name="waitingFor">What the request was for, in the timeout's message.</param>
    private async Task<string> SendAsync(string url, HttpContent content, CancellationToken cancellationToken, bool dispose, TimeSpan timeout, string waitingFor = "")
    {
        var http = _http ?? throw new InvalidOperationException("The ClickHouse sink is not open.");
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            using var response = await http.PostAsync(url, content, limit.Token).ConfigureAwait(false);
            var text = await response.Content.ReadAsStringAsync(limit.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                var reason = text.Length > 2000 ? text[..2000] + " …" : text.TrimEnd();
                throw new ClickHouseException(response.StatusCode,
                    $"ClickHouse at {_options.Endpoint} answered {(int)response.StatusCode} for {Describe}: {reason}");
            }

            return text;
        }
        catch (OperationCanceledException e) when (limit.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException(NoAnswer(timeout, waitingFor), e);
        }
        catch (HttpRequestException e)
        {
            // The handler's own text names neither the server nor, on a connect timeout, how long it waited.
            throw new HttpRequestException($"{Server}: {e.Message}", e, e.StatusCode);
        }
        finally
        {
            if (dispose)
            {
                content.Dispose();
            }
        }
    }
}
