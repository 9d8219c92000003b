using Apache.Arrow;
using EtlStream.Sources;
using EtlStream.Transforms;
using MySqlConnector;

namespace EtlStream.Sinks.StarRocks;

/// <summary>
/// The evening full refresh on StarRocks/Doris: the run is Stream-Loaded into a staging table made <c>LIKE</c> the
/// target (same columns, key model, distribution and properties), which completing the run swaps in atomically —
/// StarRocks <c>ALTER TABLE t SWAP WITH staging</c>, Doris <c>ALTER TABLE t REPLACE WITH TABLE staging</c> — then
/// the old content is dropped. Readers see the old rows until the swap; a run that fails drops its staging table
/// and leaves the target as it was. Grants and views name the target, which keeps its name.
/// </summary>
internal sealed class StarRocksReplaceSink : IBatchSink, IRejectingSink
{
    private readonly StarRocksSinkOptions _options;
    private readonly StarRocksSink _staging;
    private readonly string _stagingTable;
    private bool _created;
    private bool _completed;

    public StarRocksReplaceSink(StarRocksSinkOptions options, Microsoft.Extensions.Logging.ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.MySqlPort is null)
        {
            throw new ArgumentException($"{options.Database}.{options.Table}: a refresh needs the FE's MySQL port for its staging table and swap.", nameof(options));
        }

        // Unique per run: labels name the table, so each refresh's loads are its own.
        _stagingTable = $"{options.Table}__etl_{Guid.NewGuid():N}"[..Math.Min(64, options.Table.Length + 18)];
        _options = options;
        _staging = new StarRocksSink(options with { Table = _stagingTable }, logger);
    }

    public int MaxConcurrency => _staging.MaxConcurrency;

    public int MaxFilesInFlight => _staging.MaxFilesInFlight;

    public int PreferredChunkRows => _staging.PreferredChunkRows;

    public long PreferredChunkBytes => _staging.PreferredChunkBytes;

    public void ReceiveRejectsWith(Func<IReadOnlyList<RejectedRow>, CancellationToken, ValueTask> receiver) => _staging.ReceiveRejectsWith(receiver);

    public async ValueTask OpenAsync(Schema schema, CancellationToken cancellationToken)
    {
        await ExecuteAsync($"CREATE TABLE {Name(_stagingTable)} LIKE {Name(_options.Table)}", cancellationToken).ConfigureAwait(false);
        _created = true;
        await _staging.OpenAsync(schema, cancellationToken).ConfigureAwait(false);
    }

    public ValueTask WriteAsync(SinkChunk chunk, CancellationToken cancellationToken) => _staging.WriteAsync(chunk, cancellationToken);

    public ValueTask FileCompleteAsync(SourceFile file, int chunks, CancellationToken cancellationToken) =>
        _staging.FileCompleteAsync(file, chunks, cancellationToken);

    public async ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        await _staging.CompleteAsync(cancellationToken).ConfigureAwait(false);
        if (_options.Dialect == StreamLoadDialect.Doris)
        {
            // swap = false: the staging table takes the target's place and the old content is dropped with it.
            await ExecuteAsync($"ALTER TABLE {Name(_options.Table)} REPLACE WITH TABLE {StarRocksSql.Quote(_stagingTable)} PROPERTIES('swap' = 'false')", cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await ExecuteAsync($"ALTER TABLE {Name(_options.Table)} SWAP WITH {StarRocksSql.Quote(_stagingTable)}", cancellationToken).ConfigureAwait(false);
            await ExecuteAsync($"DROP TABLE {Name(_stagingTable)}", cancellationToken).ConfigureAwait(false);
        }

        _completed = true;
    }

    public async ValueTask DisposeAsync()
    {
        await _staging.DisposeAsync().ConfigureAwait(false);
        if (_created && !_completed)
        {
            try
            {
                await ExecuteAsync($"DROP TABLE IF EXISTS {Name(_stagingTable)}", CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is MySqlException or StreamLoadException)
            {
                // The run is being abandoned: a staging table left behind is never the target, and the error that
                // abandoned the run matters more.
            }
        }
    }

    private string Name(string table) => $"{StarRocksSql.Quote(_options.Database)}.{StarRocksSql.Quote(table)}";

    private async Task ExecuteAsync(string sql, CancellationToken cancellationToken)
    {
        await using var connection = await StarRocksFeSql.OpenAsync(_options, cancellationToken).ConfigureAwait(false);
        try
        {
            await connection.ChangeDatabaseAsync(_options.Database, cancellationToken).ConfigureAwait(false); // SWAP WITH names its table unqualified
            await using var command = new MySqlCommand(sql, connection);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.CommandTimeoutExpired)
        {
            // Only a timeout is re-worded: the callers read the server's own errors (a missing table) as they are.
            throw StarRocksFeSql.Failure(_options, e, "replacing the table");
        }
    }
}
