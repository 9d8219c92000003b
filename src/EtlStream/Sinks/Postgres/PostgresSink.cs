using System.Buffers;
using System.Collections.Concurrent;
using System.Data.Common;
using Apache.Arrow;
using EtlStream.Sinks.Sql;
using Npgsql;

namespace EtlStream.Sinks.Postgres;

/// <summary>
/// Loads batches into PostgreSQL with binary <c>COPY … FROM STDIN (FORMAT BINARY)</c>, each chunk encoded straight
/// from the Arrow buffers by <see cref="PostgresBinaryEncoder"/>, up to <see cref="PostgresSinkOptions.MaxConcurrency"/> COPYs at once into the run's
/// UNLOGGED staging table (see <see cref="SqlStagedSink"/>). <see cref="CompleteAsync"/> publishes in one
/// transaction: append copies the staged rows in; merge upserts them by the key (<c>INSERT … ON CONFLICT (key) DO
/// UPDATE</c>); replace truncates and refills the table (so its grants, RLS
/// policies and dependent views stay), or renames staging into place when the table was missing or its columns
/// differ. Readers see the old content until that transaction commits.
/// </summary>
internal sealed class PostgresSink : SqlStagedSink
{
    private readonly PostgresSinkOptions _options;
    private NpgsqlDataSource? _dataSource;
    private NpgsqlConnection? _directConnection;
    private NpgsqlTransaction? _directTransaction;
    private NpgsqlRawCopyStream? _directCopy;
    private ArrayBufferWriter<byte>? _directBody;
    private ArrayBufferWriter<byte>? _directBodySent;
    private Task _directSending = Task.CompletedTask;
    private readonly PostgresBinaryEncoder _encoder = new();
    private readonly ConcurrentBag<ArrayBufferWriter<byte>> _buffers = [];
    private ServerWatch? _watch;

    public PostgresSink(PostgresSinkOptions options)
        : base(PostgresDialect.Instance, options)
    {
        _options = options;
        PostgresDialect.Instance.ValidateIdentifier(options.Schema);
    }

    protected override string Qualify(string table) => Dialect.Quote(_options.Schema) + "." + Dialect.Quote(table);

    protected override async Task ConnectAsync(CancellationToken cancellationToken)
    {
        _dataSource = NpgsqlDataSource.Create(_options.ConnectionString);
        var b = new NpgsqlConnectionStringBuilder(_options.ConnectionString);
        var dataSource = _dataSource;
        _watch = new ServerWatch(Server(b), b.CommandTimeout, async token =>
        {
            await using var probe = await OpenAsync(dataSource.CreateConnection(), token).ConfigureAwait(false);
            await using var command = new NpgsqlCommand("SELECT 1", probe);
            await command.ExecuteScalarAsync(token).ConfigureAwait(false);
        });

        // Fail on a bad address or password now, before anything else happens.
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
    }

    private Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken) => OpenAsync(DataSource.CreateConnection(), cancellationToken);

    /// <summary>
    /// Opens <paramref name="connection"/>, the one way every PostgreSQL connection of EtlStream is opened (the sink's,
    /// the ledger's, row security's), so that every failure to connect names the server and never the password.
    /// </summary>
    internal static async Task<NpgsqlConnection> OpenAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is DbException or IOException or TimeoutException or OperationCanceledException)
        {
            var connectionString = connection.ConnectionString; // without the password: Persist Security Info is off
            await connection.DisposeAsync().ConfigureAwait(false);
            throw ConnectFailure(connectionString, e);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static string Server(NpgsqlConnectionStringBuilder b) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"postgres {b.Host}:{b.Port}");

    private ServerWatch Watch => _watch ?? throw new InvalidOperationException("The PostgreSQL sink is not open.");

    /// <summary>
    /// A failure to connect, naming the server as <c>postgres host:port</c> (the driver's text names neither) and never
    /// the password: a timeout says how long it waited, a refused cleartext password says why it was refused.
    /// </summary>
    internal static Exception ConnectFailure(string connectionString, Exception error)
    {
        var b = new NpgsqlConnectionStringBuilder(connectionString);
        var server = Server(b);
        for (var e = error; e is not null; e = e.InnerException)
        {
            if (e is TimeoutException or OperationCanceledException)
            {
                return new TimeoutException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"{server}: no answer within {b.Timeout} s while connecting (connect_timeout={b.Timeout})"), error);
            }
        }

        if (error is PostgresException { SqlState: PostgresErrorCodes.InvalidCatalogName })
        {
            // The server's own text ("database "x" does not exist", SQLSTATE 3D000) names neither the server nor a way on.
            var database = PostgresDialect.Instance.Quote(b.Database ?? "");
            return new InvalidOperationException(
                $"PostgreSQL database {database} does not exist on {b.Host}:{b.Port}: create it (CREATE DATABASE {database}, or etlstream init-db for a tenant) or name an existing one in the target",
                error);
        }

        if (b.RequireAuth == "!Password" && error.Message.Contains("\"Password\" authentication method is not allowed", StringComparison.Ordinal))
        {
            return new IOException(
                $"{server}: the server asked for the password in cleartext over an unencrypted connection; it was not sent, as anything on the network could read it. " +
                "Have the server use scram-sha-256 or md5 (pg_hba.conf), or connect with &sslmode=require.", error);
        }

        return new IOException($"{server}: cannot connect as {b.Username} to database {b.Database}: {error.Message}", error);
    }

    /// <summary>
    /// An append with one COPY at a time into an existing table goes straight into it, in one transaction committed by
    /// <see cref="CompleteAsync"/>: the rows are written once instead of COPY into staging then INSERT … SELECT. The
    /// run is one COPY, fed batch by batch as each is encoded, so the server stores rows while the next batch is
    /// encoded (measured: the write stage was busy for 15.6 s of a 17.9 s load when each chunk was encoded whole,
    /// then sent, the server idle meanwhile).
    /// </summary>
    protected override bool LoadsDirectly(TargetTableState state) =>
        Mode == SqlWriteMode.Append && state == TargetTableState.Matching && MaxConcurrency == 1;

    protected override async Task BeginDirectAsync(CancellationToken cancellationToken)
    {
        _directConnection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        _directTransaction = await _directConnection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        _directCopy = await _directConnection.BeginRawBinaryCopyAsync(
            $"COPY {Qualify(Table)} FROM STDIN (FORMAT BINARY)", cancellationToken).ConfigureAwait(false);
        _directBody = new ArrayBufferWriter<byte>(1 << 20);
        _directBodySent = new ArrayBufferWriter<byte>(1 << 20);
        _directBody.Write(PostgresBinaryEncoder.Header);
    }

    protected override async ValueTask DisconnectAsync()
    {
        if (_directCopy is not null)
        {
            // Still open: the run failed. Disposing would end the COPY and keep its rows: cancel it instead.
            // Each bounded by timeout=: after a server stopped answering they would wait on it for ever.
            var bound = TimeSpan.FromSeconds(Watch.TimeoutSeconds);
            try
            {
                await _directSending.WaitAsync(bound).ConfigureAwait(false);
            }
            catch (Exception e) when (IsDatabaseError(e) || e is OperationCanceledException)
            {
                // the send's own error; the run's error is already on its way
            }

            try
            {
                await _directCopy.CancelAsync().WaitAsync(bound).ConfigureAwait(false);
            }
            catch (Exception e) when (IsDatabaseError(e) || e is InvalidOperationException or ObjectDisposedException)
            {
                // the transaction is rolled back below either way
            }

            await _directCopy.DisposeAsync().ConfigureAwait(false);
            _directCopy = null;
        }

        if (_directTransaction is not null)
        {
            await _directTransaction.DisposeAsync().ConfigureAwait(false); // rolls back unless committed
            _directTransaction = null;
        }

        if (_directConnection is not null)
        {
            await _directConnection.DisposeAsync().ConfigureAwait(false);
            _directConnection = null;
        }

        if (_dataSource is not null)
        {
            await _dataSource.DisposeAsync().ConfigureAwait(false);
            _dataSource = null;
        }
    }

    protected override async Task<IReadOnlyList<SqlColumn>?> ReadLiveColumnsAsync(string table, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand("""
            SELECT a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull
            FROM pg_catalog.pg_attribute a
            JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
            JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attnum
            """, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = _options.Schema });
        command.Parameters.Add(new NpgsqlParameter { Value = table });
        var columns = new List<SqlColumn>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            columns.Add(new SqlColumn(reader.GetString(0), reader.GetString(1), reader.GetBoolean(2)));
        }

        return columns.Count == 0 ? null : columns;
    }

    protected override async Task ExecuteAsync(string sql, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task<IReadOnlyList<string?>?> QueryFirstRowAsync(string sql, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(sql, connection);
        return await FirstRowAsync(command, cancellationToken).ConfigureAwait(false);
    }

    protected override async Task<IReadOnlyList<string>> ReadPrimaryKeyAsync(string table, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand("""
            SELECT a.attname FROM pg_catalog.pg_index i
            JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
            WHERE i.indrelid = to_regclass($1) AND i.indisprimary
            ORDER BY array_position(i.indkey::int2[], a.attnum)
            """, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = Qualify(table) });
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
            // Two buffers: a batch is encoded while the one before is still being sent, so the server, the slower
            // side, has bytes waiting meanwhile. Measured together with 32k-row chunks: the standard job 5.67 s
            // against 5.90 s (perf/db-loaders.sh medians of 3, in two windows); alone it was within the noise.
            var copy = _directCopy ?? throw new InvalidOperationException("The PostgreSQL sink's COPY has ended.");
            foreach (var batch in chunk.Batches)
            {
                _encoder.Write(batch, _directBody!);
                await _directSending.ConfigureAwait(false);
                (_directBody, _directBodySent) = (_directBodySent!, _directBody!);
                _directBody.ResetWrittenCount();
                var sent = _directBodySent.WrittenMemory;
                _directSending = Watch.RunAsync("loading", token => copy.WriteAsync(sent, token).AsTask(), cancellationToken);
            }

            return;
        }

        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var copy = await connection.BeginRawBinaryCopyAsync(
                $"COPY {Qualify(LoadTable)} FROM STDIN (FORMAT BINARY)", cancellationToken).ConfigureAwait(false);
            var completed = false;
            var body = _buffers.TryTake(out var reused) ? reused : new ArrayBufferWriter<byte>(1 << 20);
            try
            {
                body.ResetWrittenCount();
                body.Write(PostgresBinaryEncoder.Header);
                foreach (var batch in chunk.Batches)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    _encoder.Write(batch, body);
                }

                body.Write(PostgresBinaryEncoder.Trailer);
                await Watch.RunAsync("loading", token => copy.WriteAsync(body.WrittenMemory, token).AsTask(), cancellationToken).ConfigureAwait(false);
                completed = true;
            }
            finally
            {
                _buffers.Add(body);
                if (!completed)
                {
                    // Disposing would end the COPY and keep what was sent: cancel it instead (bounded: the server may be gone).
                    await Watch.RunAsync("cancelling a load", _ => copy.CancelAsync(), CancellationToken.None).ConfigureAwait(false);
                }

                // Ends the COPY: the server checks and stores the rows.
                await Watch.RunAsync("loading", _ => copy.DisposeAsync().AsTask(), cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    protected override async Task PublishAsync(CancellationToken cancellationToken)
    {
        if (Direct)
        {
            var copy = _directCopy!;
            await _directSending.ConfigureAwait(false);
            if (_directBody!.WrittenCount > 0)
            {
                // No batch came (a run of empty files, init-db): the header still waits in the buffer, and COPY needs it.
                var header = _directBody.WrittenMemory;
                await Watch.RunAsync("loading", token => copy.WriteAsync(header, token).AsTask(), cancellationToken).ConfigureAwait(false);
            }

            await Watch.RunAsync("loading", token => copy.WriteAsync(PostgresBinaryEncoder.Trailer.ToArray(), token).AsTask(), cancellationToken).ConfigureAwait(false);
            _directCopy = null;
            await Watch.RunAsync("loading", _ => copy.DisposeAsync().AsTask(), cancellationToken).ConfigureAwait(false); // ends the COPY: the server checks and stores the rows
            await WriteLedgerAsync(_directConnection!, _directTransaction!, cancellationToken).ConfigureAwait(false);
            await Watch.RunAsync("committing", token => _directTransaction!.CommitAsync(token), cancellationToken).ConfigureAwait(false);
            return;
        }

        var target = Qualify(Table);
        var staging = Qualify(StagingTable);
        // A keyed table gets its primary key when staging becomes it: built once, after the load (see SqlDialect.KeyIsUnique).
        // Named after the table, as PostgreSQL names a key made with CREATE TABLE: ADD PRIMARY KEY on the staging table
        // would name it after staging, and the name outlives the rename.
        var addKey = Key.Count > 0
            ? $"ALTER TABLE {staging} ADD CONSTRAINT {Dialect.Quote(PostgresDialect.PrimaryKeyName(Table))} {Dialect.KeyConstraint(Columns, Key)}; "
            : string.Empty;
        var rename = $"{addKey}ALTER TABLE {staging} SET LOGGED; ALTER TABLE {staging} RENAME TO {Dialect.Quote(Table)}";
        var sql = (Mode, TargetState) switch
        {
            (_, TargetTableState.Missing) => rename,
            (SqlWriteMode.Append, _) => $"INSERT INTO {target} SELECT * FROM {staging}; DROP TABLE {staging}",
            (SqlWriteMode.Merge, _) => $"INSERT INTO {target} SELECT * FROM {staging} {MergeConflictClause()}; DROP TABLE {staging}",
            (SqlWriteMode.Replace, TargetTableState.Matching) => $"TRUNCATE TABLE {target}; INSERT INTO {target} SELECT * FROM {staging}; DROP TABLE {staging}",
            _ => $"DROP TABLE {target}; {rename}",
        };

        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            // No deadline for the statement (a large refresh takes as long as it takes); the watch bounds the wait instead.
            await using var command = new NpgsqlCommand(sql, connection, transaction) { CommandTimeout = 0 };
            await Watch.RunAsync("publishing", token => command.ExecuteNonQueryAsync(token), cancellationToken).ConfigureAwait(false);
            await WriteLedgerAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
            await Watch.RunAsync("committing", token => transaction.CommitAsync(token), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The upsert: a staged row whose key the table has replaces that row (OpenAsync checked the primary key is the merge key).</summary>
    private string MergeConflictClause()
    {
        var updates = string.Join(", ", NonKeyColumns.Select(c => $"{Dialect.Quote(c.Name)} = EXCLUDED.{Dialect.Quote(c.Name)}"));
        return $"ON CONFLICT ({KeyList}) DO " + (updates.Length == 0 ? "NOTHING" : "UPDATE SET " + updates);
    }

    /// <summary>The run's files in the schema's ledger table, inside the transaction that publishes their rows.</summary>
    private async Task WriteLedgerAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        if (_options.Ledger is not { } stamp)
        {
            return;
        }

        var ledger = Qualify(LedgerStamp.Table);
        await using (var create = new NpgsqlCommand(SqlLedger.CreateTableSql(Dialect, ledger), connection, transaction))
        {
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await SqlLedger.WriteAsync(Dialect, connection, transaction, ledger, stamp, FilesWritten, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// What the schema's ledger table says is committed into <paramref name="target"/>: (source name, version, rows,
    /// run id). Empty when the table does not exist yet.
    /// </summary>
    public static async Task<IReadOnlyList<LedgerRow>> ReadLedgerAsync(
        string connectionString, string schema, string tenant, string target, CancellationToken cancellationToken)
    {
        var ledger = PostgresDialect.Instance.Quote(schema) + "." + PostgresDialect.Instance.Quote(LedgerStamp.Table);
        await using var connection = await OpenAsync(new NpgsqlConnection(connectionString), cancellationToken).ConfigureAwait(false);
        await using var exists = new NpgsqlCommand("SELECT to_regclass($1) IS NOT NULL", connection);
        exists.Parameters.Add(new NpgsqlParameter { Value = ledger });
        if (!(bool)(await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!)
        {
            return [];
        }

        return await SqlLedger.ReadAsync(PostgresDialect.Instance, connection, ledger, tenant, target, cancellationToken).ConfigureAwait(false);
    }

    protected override bool IsDatabaseError(Exception error) => error is DbException or IOException or TimeoutException;

    private NpgsqlDataSource DataSource => _dataSource ?? throw new InvalidOperationException("The PostgreSQL sink is not open.");
}
