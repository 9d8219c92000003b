using System.Buffers;
using System.Collections.Concurrent;
using System.Data.Common;
using System.Runtime.InteropServices;
using System.Text;
using EtlStream.Formats.Csv;
using EtlStream.Sinks.Sql;
using MySqlConnector;

namespace EtlStream.Sinks.MySql;

/// <summary>
/// Loads batches into MySQL or MariaDB with <c>LOAD DATA LOCAL INFILE</c>, streamed from a chunk encoded as
/// backslash-escaped TSV (<see cref="CsvWriteOptions.BackslashTsv"/>, the statement's default format), up to
/// <see cref="MySqlSinkOptions.MaxConcurrency"/> loads at once into the run's staging table (see
/// <see cref="SqlStagedSink"/>). A LOCAL load turns bad values into warnings instead of errors, so any warning fails
/// the chunk. <see cref="CompleteAsync"/> publishes: append with one <c>INSERT … SELECT</c> transaction (merge: with
/// <c>ON DUPLICATE KEY UPDATE</c>), which also writes the run's ledger rows; replace
/// with <c>RENAME TABLE t TO old, staging TO t</c>, which MySQL performs atomically (grants and views refer to the
/// table by name, so they follow).
/// </summary>
internal sealed class MySqlSink : SqlStagedSink
{
    private readonly string _connectionString;
    private readonly string _database;
    private readonly LedgerStamp? _ledger;
    private readonly CsvArrowWriter _encoder = new(CsvWriteOptions.BackslashTsv);
    private readonly ConcurrentBag<ArrayBufferWriter<byte>> _buffers = [];
    private MySqlConnection? _directConnection;
    private MySqlTransaction? _directTransaction;
    private ChunkPipeStream? _directPipe;
    private Task<int>? _directLoad;
    private ArrayBufferWriter<byte>? _directBody;
    private CancellationTokenSource? _directLoadStop;
    private readonly ServerWatch _watch;

    /// <summary>connect_timeout, read from the connection string once rather than parsed again at every open.</summary>
    private readonly TimeSpan _connectTimeout;

    public MySqlSink(MySqlSinkOptions options)
        : base(MySqlDialect.Instance, options)
    {
        _ledger = options.Ledger;
        var builder = new MySqlConnectionStringBuilder(options.ConnectionString) { AllowLoadLocalInfile = true };
        _database = builder.Database;
        if (string.IsNullOrEmpty(_database))
        {
            throw new ArgumentException("mysql: the connection string names no database", nameof(options));
        }

        MySqlDialect.Instance.ValidateIdentifier(_database);
        _connectionString = builder.ConnectionString;
        _connectTimeout = TimeSpan.FromSeconds(builder.ConnectionTimeout);
        _watch = new ServerWatch(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"mysql {builder.Server}:{builder.Port}"), (int)builder.DefaultCommandTimeout, async token =>
        {
            await using var probe = await OpenAsync(token).ConfigureAwait(false);
            await using var command = new MySqlCommand("SELECT 1", probe);
            await command.ExecuteScalarAsync(token).ConfigureAwait(false);
        });
    }

    protected override string Qualify(string table) => Dialect.Quote(_database) + "." + Dialect.Quote(table);

    protected override async Task ConnectAsync(CancellationToken cancellationToken)
    {
        // Fail on a bad address or password now, before anything else happens.
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        if (_ledger is not null)
        {
            // Now, not at publish: DDL commits implicitly in MySQL, so inside the publishing transaction it would commit
            // the rows before their ledger rows.
            await using var create = new MySqlCommand(SqlLedger.CreateTableSql(Dialect, Qualify(LedgerStamp.Table)), connection);
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// An append with one load at a time into an existing table goes straight into it, in one InnoDB transaction
    /// committed by <see cref="CompleteAsync"/>: the rows are written once instead of loaded then copied. The run is
    /// one <c>LOAD DATA</c> reading a pipe that each chunk is encoded into, so the server stores rows while the next
    /// batch is encoded.
    /// </summary>
    protected override bool LoadsDirectly(TargetTableState state) =>
        Mode == SqlWriteMode.Append && state == TargetTableState.Matching && MaxConcurrency == 1;

    protected override async Task BeginDirectAsync(CancellationToken cancellationToken)
    {
        _directConnection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        _directTransaction = await _directConnection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        _directPipe = new ChunkPipeStream(capacity: 4);
        _directBody = new ArrayBufferWriter<byte>(1 << 20);
        var connection = _directConnection;
        var pipe = _directPipe;
        _directLoadStop = new CancellationTokenSource();
        var stop = _directLoadStop.Token;
        _directLoad = Task.Run(() => LoadStreamAsync(connection, pipe, stop), CancellationToken.None);
    }

    protected override async ValueTask DisconnectAsync()
    {
        if (_directPipe is not null)
        {
            // Still open: the run failed. The load ends early, inside the transaction rolled back below.
            _directPipe.Complete(new OperationCanceledException("the load was abandoned"));
            try
            {
                // A server that stopped reading never ends the load by itself: after timeout= it is cancelled (the
                // driver then kills the query, or closes the connection), and waited for once more.
                try
                {
                    await _directLoad!.WaitAsync(TimeSpan.FromSeconds(_watch.TimeoutSeconds)).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    await _directLoadStop!.CancelAsync().ConfigureAwait(false);
                    await _directLoad!.WaitAsync(TimeSpan.FromSeconds(_watch.TimeoutSeconds)).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (IsDatabaseError(e) || e is OperationCanceledException or InvalidOperationException)
            {
                // the abandoned load's own error; the run's error is already on its way
            }

            await _directPipe.DisposeAsync().ConfigureAwait(false);
            _directPipe = null;
        }

        if (_directTransaction is not null)
        {
            if (_directLoad is { IsCompleted: true })
            {
                // Rolls back unless committed: a ROLLBACK sent to a server that stopped reading waits for its answer
                // like the close below, so it is bounded the same way.
                await DisposeBoundedAsync(_directTransaction).ConfigureAwait(false);
            }

            _directTransaction = null; // else the connection is still busy: closing it below rolls back
        }

        if (_directConnection is not null)
        {
            await DisposeBoundedAsync(_directConnection).ConfigureAwait(false);
            _directConnection = null;
        }

        _directLoadStop?.Dispose();
        _directLoadStop = null;
    }

    protected override async Task<IReadOnlyList<SqlColumn>?> ReadLiveColumnsAsync(string table, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var live = await MySqlColumns.ReadAsync(connection, _database, table, cancellationToken).ConfigureAwait(false);
        return live.Count == 0 ? null : live.ConvertAll(c => new SqlColumn(c.Name, c.ColumnType, c.Nullable));
    }

    protected override async Task ExecuteAsync(string sql, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);

        // No deadline for the statement (a large refresh's INSERT … SELECT takes as long as it takes); the watch bounds the wait instead.
        await using var command = new MySqlCommand(sql, connection) { CommandTimeout = 0 };
        await _watch.RunAsync("running a statement", token => command.ExecuteNonQueryAsync(token), cancellationToken).ConfigureAwait(false);
    }

    protected override async Task<IReadOnlyList<string?>?> QueryFirstRowAsync(string sql, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new MySqlCommand(sql, connection) { CommandTimeout = 0 };
        IReadOnlyList<string?>? row = null;
        await _watch.RunAsync("running a query", async token => row = await FirstRowAsync(command, token).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        return row;
    }

    protected override async Task<IReadOnlyList<string>> ReadPrimaryKeyAsync(string table, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new MySqlCommand(
            "SELECT COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = @db AND TABLE_NAME = @table AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX",
            connection);
        command.Parameters.AddWithValue("@db", _database);
        command.Parameters.AddWithValue("@table", table);
        var key = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            key.Add(reader.GetString(0));
        }

        return key;
    }

    protected override async Task BulkLoadAsync(SinkChunk chunk, CancellationToken cancellationToken)
    {
        if (Direct)
        {
            var pipe = _directPipe!;
            await _watch.RunAsync("loading", token => pipe.FeedAsync(chunk.Batches, _encoder.Write, _directBody!, _directLoad!, $"{Describe}: LOAD DATA ended before the data did.", token), cancellationToken).ConfigureAwait(false);
            return;
        }

        var body = _buffers.TryTake(out var reused) ? reused : new ArrayBufferWriter<byte>(1 << 20);
        try
        {
            body.ResetWrittenCount();
            foreach (var batch in chunk.Batches)
            {
                _encoder.Write(batch, body);
            }

            MemoryMarshal.TryGetArray(body.WrittenMemory, out var written);
            using var stream = new MemoryStream(written.Array!, written.Offset, written.Count, writable: false);
            var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var loaded = 0;
                await _watch.RunAsync("loading", async token => loaded = await LoadStreamAsync(connection, stream, token).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
                await ThrowOnWarningsAsync(connection, chunk, cancellationToken).ConfigureAwait(false);
                if (loaded != chunk.Rows)
                {
                    throw new InvalidOperationException($"{Describe}: LOAD DATA loaded {loaded} rows of a chunk of {chunk.Rows}.");
                }
            }
            finally
            {
                await DisposeBoundedAsync(connection).ConfigureAwait(false);
            }
        }
        finally
        {
            _buffers.Add(body);
        }
    }

    private async Task<int> LoadStreamAsync(MySqlConnection connection, Stream stream, CancellationToken cancellationToken)
    {
        var loader = new MySqlBulkLoader(connection)
        {
            TableName = Qualify(LoadTable),
            Local = true,
            SourceStream = stream,
            FieldTerminator = "\t",
            LineTerminator = "\n",
            EscapeCharacter = '\\',
            CharacterSet = "utf8mb4",
            Timeout = 0,
        };
        return await loader.LoadAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A LOCAL load cannot abort mid-stream, so the server stores a cut or zeroed value and warns instead: fail on it.</summary>
    private async Task ThrowOnWarningsAsync(MySqlConnection connection, SinkChunk? chunk, CancellationToken cancellationToken)
    {
        await using var command = new MySqlCommand("SHOW WARNINGS LIMIT 3", connection, Direct ? _directTransaction : null);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        StringBuilder? warnings = null;
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            (warnings ??= new StringBuilder()).Append(warnings.Length > 0 ? "; " : string.Empty)
                .Append(reader.GetString(0)).Append(' ').Append(reader.GetInt32(1)).Append(": ").Append(reader.GetString(2));
        }

        if (warnings is not null)
        {
            var where = chunk?.Source is { } source ? $" (file {source.Name}, chunk {chunk.Index})" : string.Empty;
            throw new InvalidOperationException($"{Describe}: LOAD DATA reported {warnings}{where}; a warning means a value was not stored as sent.");
        }
    }

    protected override async Task PublishAsync(CancellationToken cancellationToken)
    {
        if (Direct)
        {
            var pipe = _directPipe!;
            _directPipe = null;
            pipe.Complete();
            var load = _directLoad!;
            await _watch.RunAsync("loading", _ => load, cancellationToken).ConfigureAwait(false);
            var loaded = await load.ConfigureAwait(false);
            await pipe.DisposeAsync().ConfigureAwait(false);
            await ThrowOnWarningsAsync(_directConnection!, chunk: null, cancellationToken).ConfigureAwait(false);
            if (loaded != RowsWritten)
            {
                throw new InvalidOperationException($"{Describe}: LOAD DATA loaded {loaded} rows of the run's {RowsWritten}.");
            }

            await WriteLedgerAsync(_directConnection!, _directTransaction, cancellationToken).ConfigureAwait(false);
            await _watch.RunAsync("committing", token => _directTransaction!.CommitAsync(token), cancellationToken).ConfigureAwait(false);
            return;
        }

        var target = Qualify(Table);
        var staging = Qualify(StagingTable);
        // A refresh renames staging into place; so does a table's first load, unless it has ledger rows to commit with
        // its rows (a RENAME commits on its own and cannot share their transaction).
        var renamesStaging = Mode == SqlWriteMode.Replace || (TargetState == TargetTableState.Missing && _ledger is null);
        if (renamesStaging)
        {
            if (Key.Count > 0)
            {
                // Staging is about to become the table: it takes the key now, built once after the load (SqlDialect.KeyIsUnique).
                await ExecuteAsync(Dialect.AddKeySql(staging, Columns, Key), cancellationToken).ConfigureAwait(false);
            }

            // One statement: MySQL takes both renames atomically, so a reader sees the old table or the new one.
            await ExecuteAsync(TargetState == TargetTableState.Missing
                ? $"RENAME TABLE {staging} TO {target}"
                : $"RENAME TABLE {target} TO {Qualify(RetiredTable)}, {staging} TO {target}", cancellationToken).ConfigureAwait(false);
            if (TargetState != TargetTableState.Missing)
            {
                await ExecuteAsync($"DROP TABLE {Qualify(RetiredTable)}", cancellationToken).ConfigureAwait(false);
            }

            // A refresh's ledger rows follow the rename in a transaction of their own. A crash between the two loses
            // them, which no heal misses: a refresh always reloads, and appends and merges never come this way with a ledger.
            await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
            await WriteLedgerAsync(connection, null, cancellationToken).ConfigureAwait(false);
            return;
        }

        if (TargetState == TargetTableState.Missing)
        {
            // A first load with a ledger: the table is created empty, then filled in the transaction that writes the ledger rows.
            await ExecuteAsync(Dialect.CreateTableSql(target, Columns, ifNotExists: false, key: Key), cancellationToken).ConfigureAwait(false);
        }

        await using (var connection = await OpenAsync(cancellationToken).ConfigureAwait(false))
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                await using var command = new MySqlCommand(
                    $"INSERT INTO {target} SELECT * FROM {staging}{(Mode == SqlWriteMode.Merge ? " " + MergeUpdateClause() : string.Empty)}",
                    connection, transaction) { CommandTimeout = 0 }; // no deadline for the statement: the watch bounds the wait
                await _watch.RunAsync("publishing", token => command.ExecuteNonQueryAsync(token), cancellationToken).ConfigureAwait(false);
                await WriteLedgerAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
                await _watch.RunAsync("committing", token => transaction.CommitAsync(token), cancellationToken).ConfigureAwait(false);
            }
        }

        // DDL commits implicitly in MySQL, so the staging table is dropped after the rows are committed.
        await ExecuteAsync($"DROP TABLE {staging}", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The upsert: a staged row whose primary key the table has replaces that row (OpenAsync checked the primary key is
    /// the merge key; another UNIQUE key on the table would match too, which init-db never creates).
    /// </summary>
    private string MergeUpdateClause()
    {
        var updates = string.Join(", ", (NonKeyColumns.Any() ? NonKeyColumns : Columns).Select(c => $"{Dialect.Quote(c.Name)} = VALUES({Dialect.Quote(c.Name)})"));
        return "ON DUPLICATE KEY UPDATE " + updates;
    }

    /// <summary>The run's files in the database's ledger table, in <paramref name="transaction"/> (the one publishing their rows).</summary>
    private async Task WriteLedgerAsync(MySqlConnection connection, MySqlTransaction? transaction, CancellationToken cancellationToken)
    {
        if (_ledger is { } stamp)
        {
            await SqlLedger.WriteAsync(Dialect, connection, transaction, Qualify(LedgerStamp.Table), stamp, FilesWritten, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>What a database's ledger table says is committed into <paramref name="target"/>; empty when there is no ledger table yet.</summary>
    public static async Task<IReadOnlyList<LedgerRow>> ReadLedgerAsync(string connectionString, string tenant, string target, CancellationToken cancellationToken)
    {
        var database = new MySqlConnectionStringBuilder(connectionString).Database;
        await using var connection = new MySqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var exists = new MySqlCommand("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = @db AND TABLE_NAME = @table", connection);
        exists.Parameters.AddWithValue("@db", database);
        exists.Parameters.AddWithValue("@table", LedgerStamp.Table);
        if (Convert.ToInt64(await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture) == 0)
        {
            return [];
        }

        var d = MySqlDialect.Instance;
        return await SqlLedger.ReadAsync(d, connection, d.Quote(database) + "." + d.Quote(LedgerStamp.Table), tenant, target, cancellationToken).ConfigureAwait(false);
    }

    protected override bool IsDatabaseError(Exception error) => error is DbException or IOException or TimeoutException;

    /// <summary>
    /// Closes a connection (or rolls back its transaction), giving up after timeout=: closing one whose LOAD DATA a stalled server stopped reading
    /// would first read the rest of its answer from that server, for ever. The abandoned close ends with the process.
    /// </summary>
    private async Task DisposeBoundedAsync(IAsyncDisposable connection)
    {
        var closing = connection.DisposeAsync().AsTask();
        try
        {
            await closing.WaitAsync(TimeSpan.FromSeconds(_watch.TimeoutSeconds)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            _ = closing.ContinueWith(t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }
    }

    private async Task<MySqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new MySqlConnection(_connectionString);
        var opening = connection.OpenAsync(cancellationToken);
        try
        {
            // Bounded here too: the pool hands back a session it first resets (COM_RESET_CONNECTION) with no timeout of
            // its own, and one whose server stopped reading (a stalled load's) never answers; seen as a run that failed
            // in time and then hung in its cleanup's open.
            await opening.WaitAsync(_connectTimeout, cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch (TimeoutException e) when (!opening.IsCompleted)
        {
            // The open is abandoned (disposing the connection would wait on the same session); it ends with the process.
            _ = opening.ContinueWith(t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            throw ConnectFailure(_connectionString, e);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && (IsDatabaseError(e) || e is OperationCanceledException))
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw ConnectFailure(_connectionString, e);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// A failure to connect, naming the server as <c>mysql host:port</c> (<c>Unable to connect to any of the specified
    /// MySQL hosts</c> names neither) and never the password; a timeout says how long it waited.
    /// </summary>
    internal static Exception ConnectFailure(string connectionString, Exception error)
    {
        var b = new MySqlConnectionStringBuilder(connectionString);
        var server = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"mysql {b.Server}:{b.Port}");
        for (var e = error; e is not null; e = e.InnerException)
        {
            if (e is TimeoutException or OperationCanceledException || e.Message.StartsWith("Connect Timeout expired", StringComparison.Ordinal))
            {
                return new TimeoutException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"{server}: no answer within {b.ConnectionTimeout} s while connecting (connect_timeout={b.ConnectionTimeout})"), error);
            }
        }

        return new IOException($"{server}: cannot connect as {b.UserID} to database {b.Database}: {error.Message}", error);
    }
}
