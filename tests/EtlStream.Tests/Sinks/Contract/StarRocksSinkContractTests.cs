using Apache.Arrow;
using EtlStream.Sinks;
using EtlStream.Sinks.StarRocks;
using EtlStream.Sources;
using EtlStream.Tables;
using EtlStream.Tests.Servers;
using EtlStream.Tests.StarRocks;
using EtlStream.Transforms;

namespace EtlStream.Tests.Sinks.Contract;

/// <summary>
/// The shared contract on the StarRocks sink, against the Stream Load protocol server (which commits into MariaDB)
/// and the FE MySQL-port stand-in (schema reads, the refresh's <c>CREATE TABLE … LIKE</c> and <c>SWAP WITH</c>).
/// Two things differ from a database sink, both in <see cref="InitDbSink"/>: StarRocks tables come from
/// <c>init-db</c> (the sink never creates one), and every Stream Load chunk names its source file (labels are made
/// from it), which the pipeline always gives and the contract's direct writes get here.
/// </summary>
[Collection(MariaDbCollection.Name)]
public class StarRocksSinkContractTests(MariaDbServer server) : SinkContractTests
{
    private StarRocksTestBed _bed = null!;
    private FeMySqlProxy _fe = null!;

    protected virtual StreamLoadMode Mode => StreamLoadMode.Transaction;

    public override async Task InitializeAsync()
    {
        _bed = await StarRocksTestBed.StartAsync(server);
        _fe = new FeMySqlProxy(server.Port, server.ConnectionString(), _ => null).Start();
    }

    public override async Task DisposeAsync()
    {
        await _fe.DisposeAsync();
        await _bed.DisposeAsync();
        await base.DisposeAsync();
    }

    protected override IBatchSink CreateSink(string table, bool replace, int concurrency = 3)
    {
        var options = _bed.Options(table, Mode) with { MySqlPort = _fe.Port, MaxConcurrency = concurrency, RequestTimeout = TimeSpan.FromSeconds(30) };
        return new InitDbSink(_bed, table, replace ? new StarRocksReplaceSink(options) : new StarRocksSink(options));
    }

    protected override async Task<List<object?[]>?> ReadRowsAsync(string table, Schema schema)
    {
        var exists = await _bed.RowsAsync($"SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{_bed.Database}' AND TABLE_NAME = '{table}'");
        return exists.Count == 0 ? null : await _bed.RowsAsync($"SELECT * FROM `{table}`");
    }

    [Fact]
    public async Task A_refresh_leaves_no_staging_table_and_a_failed_one_drops_its_own()
    {
        var table = NewTable("swap");
        using var rows = Sequence(1, 50);
        await LoadAsync(table, replace: true, [rows]);
        await LoadAsync(table, replace: true, [rows]);

        await Assert.ThrowsAsync<IOException>(async () =>
        {
            await using var sink = CreateSink(table, replace: true);
            await sink.OpenAsync(AwkwardSchema, default);
            throw new IOException("source went away");
        });

        var tables = await _bed.RowsAsync($"SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{_bed.Database}' AND TABLE_NAME LIKE '{table}%'");
        Assert.Equal([table], tables.Select(r => (string)r[0]!));
        Assert.Equal(2, _fe.Log.Count(l => l.StartsWith("SWAP ", StringComparison.Ordinal)));
    }

    /// <summary>
    /// What <c>init-db</c> and the pipeline provide around a StarRocks sink: the table exists before the run (made
    /// here from the MySQL-compatible DDL the sink generates, on first open), and chunks written without a source
    /// file belong to one file of this run, completed before the run is.
    /// </summary>
    private sealed class InitDbSink(StarRocksTestBed bed, string table, IBatchSink inner) : IBatchSink
    {
        private readonly SourceFile _run = new($"contract-{Guid.NewGuid():N}.csv", 0, "v1", _ => throw new NotSupportedException());
        private int _chunks;

        public int MaxConcurrency => inner.MaxConcurrency;

        public int PreferredChunkRows => inner.PreferredChunkRows;

        public long PreferredChunkBytes => inner.PreferredChunkBytes;

        public async ValueTask OpenAsync(Schema schema, CancellationToken cancellationToken)
        {
            var exists = await bed.RowsAsync($"SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{bed.Database}' AND TABLE_NAME = '{table}'");
            if (exists.Count == 0)
            {
                await bed.MariaDb.ExecuteAsync(StarRocksSql.CreateTable(SqlDialect.MySql, bed.Database, table, schema, []), bed.Database);
            }

            await inner.OpenAsync(schema, cancellationToken);
        }

        public ValueTask WriteAsync(SinkChunk chunk, CancellationToken cancellationToken) =>
            inner.WriteAsync(chunk.Source is null ? chunk with { Source = _run, Index = Interlocked.Increment(ref _chunks) - 1 } : chunk, cancellationToken);

        public ValueTask FileCompleteAsync(SourceFile file, int chunks, CancellationToken cancellationToken) =>
            inner.FileCompleteAsync(file, chunks, cancellationToken);

        public async ValueTask CompleteAsync(CancellationToken cancellationToken)
        {
            if (_chunks > 0)
            {
                await inner.FileCompleteAsync(_run, _chunks, cancellationToken);
            }

            await inner.CompleteAsync(cancellationToken);
        }

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}

/// <summary>The same contract in label mode (one plain Stream Load per chunk, each committed on its own).</summary>
[Collection(MariaDbCollection.Name)]
public sealed class StarRocksLabelSinkContractTests(MariaDbServer server) : StarRocksSinkContractTests(server)
{
    protected override StreamLoadMode Mode => StreamLoadMode.Label;

    protected override bool FailedAppendsLeaveNoRows => false;
}
