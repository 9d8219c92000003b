using EtlStream.Sinks.StarRocks;
using EtlStream.Tables;
using EtlStream.Tests.Servers;

namespace EtlStream.Tests.StarRocks;

/// <summary>
/// The shared retry policy's outcomes through the StarRocks sink, against the Stream Load protocol server: a busy BE
/// refused a load N times and is then retried to success, a label committed earlier is done without a re-send, and
/// refused credentials are one attempt.
/// </summary>
[Collection(MariaDbCollection.Name)]
public sealed class StarRocksRetryTests(MariaDbServer mariaDb)
{
    private static readonly TableSpec Spec = TableSpecReader.Read("table: t\ncolumns:\n  - { name: a, type: int64, nullable: false }\n  - { name: b, type: string }\n", "t.yaml");

    private static async Task<StarRocksTestBed> BedAsync(MariaDbServer mariaDb)
    {
        var bed = await StarRocksTestBed.StartAsync(mariaDb);
        await mariaDb.ExecuteAsync("CREATE TABLE t (a BIGINT NOT NULL, b TEXT NULL)", bed.Database);
        await File.WriteAllTextAsync(bed.Dir.File("in.csv"), "a,b\n1,x\n2,y\n3,z\n");
        return bed;
    }

    private static int BackendLoads(StarRocksTestBed bed) => bed.Server.Log.Count(l => l.StartsWith($"BE PUT /api/{bed.Database}/t/_stream_load ", StringComparison.Ordinal));

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task A_load_the_busy_BE_refuses_n_times_is_sent_n_plus_one_times_and_lands_once(int refusals)
    {
        await using var bed = await BedAsync(mariaDb);
        for (var i = 0; i < refusals; i++)
        {
            bed.Server.Inject(new StreamLoadFault(StreamLoadFaultKind.ConcurrencyLimit, "_stream_load"));
        }

        var result = await bed.LoadAsync(Spec, bed.Options("t", StreamLoadMode.Label));

        Assert.Equal(0, bed.Server.PendingFaults);
        Assert.Equal(refusals + 1, BackendLoads(bed));
        Assert.Equal((3L, 3L), (result.RowsLoaded, await bed.CountAsync("t")));
        var stats = bed.LastStats!;
        Assert.Equal((1L, (long)refusals, 0L, 3L), (stats.Loads, stats.Retries, stats.LoadsAlreadyCommitted, stats.RowsLoaded));
    }

    [Fact]
    public async Task When_the_attempts_run_out_the_error_names_the_attempts_and_the_servers_reason()
    {
        await using var bed = await BedAsync(mariaDb);
        bed.Server.Inject(
            new StreamLoadFault(StreamLoadFaultKind.ConcurrencyLimit, "_stream_load"),
            new StreamLoadFault(StreamLoadFaultKind.ConcurrencyLimit, "_stream_load"),
            new StreamLoadFault(StreamLoadFaultKind.ConcurrencyLimit, "_stream_load"));

        var e = await Assert.ThrowsAsync<StreamLoadException>(() => bed.LoadAsync(Spec, bed.Options("t", StreamLoadMode.Label) with { MaxAttempts = 3 }));

        Assert.Equal(
            $"StarRocks {bed.Database}.t label {e.Label}: load failed after 3 attempts: Stream Load exceed http cuncurrent limit, please try again later",
            e.Message);
        Assert.True(e.IsTransient);
        Assert.Equal(3, BackendLoads(bed));
        Assert.Equal(0, await bed.CountAsync("t"));
    }

    /// <summary>A rerun: every load's label is answered Label Already Exists + FINISHED, counted as done, never re-sent.</summary>
    [Fact]
    public async Task A_label_already_committed_is_one_attempt_counted_as_done_and_loads_nothing()
    {
        await using var bed = await BedAsync(mariaDb);
        var options = bed.Options("t", StreamLoadMode.Label);
        await bed.LoadAsync(Spec, options);
        var committed = Interlocked.Read(ref bed.Server.LoadsCommitted);

        await bed.LoadAsync(Spec, options);

        Assert.Equal(2, BackendLoads(bed)); // one per run
        Assert.Equal(committed, Interlocked.Read(ref bed.Server.LoadsCommitted));
        Assert.Equal(3, await bed.CountAsync("t"));
        var stats = bed.LastStats!;
        Assert.Equal((1L, 1L, 0L, 0L), (stats.Loads, stats.LoadsAlreadyCommitted, stats.Retries, stats.RowsLoaded));
    }

    [Fact]
    public async Task Refused_credentials_are_one_attempt_and_not_transient()
    {
        await using var bed = await BedAsync(mariaDb);

        var e = await Assert.ThrowsAsync<StreamLoadException>(() => bed.LoadAsync(Spec, bed.Options("t", StreamLoadMode.Label) with { Password = "wrong-password", MySqlPort = null }));

        Assert.Equal($"StarRocks {bed.Database}.t label {e.Label}: load failed: HTTP 401: HTTP 401: access denied", e.Message);
        Assert.Equal((401, false), (e.HttpStatus, e.IsTransient));
        Assert.Single(bed.Server.Log, l => l.StartsWith($"FE PUT /api/{bed.Database}/t/_stream_load ", StringComparison.Ordinal));
        Assert.Equal(0, await bed.CountAsync("t"));
    }

    /// <summary>Transaction mode, a rerun: the begin is answered Label Already Exists + FINISHED, and no body is sent at all.</summary>
    [Fact]
    public async Task A_file_transaction_committed_by_an_earlier_run_is_one_begin_and_no_load()
    {
        await using var bed = await BedAsync(mariaDb);
        var options = bed.Options("t", StreamLoadMode.Transaction);
        await bed.LoadAsync(Spec, options);
        var begins = bed.Server.Log.Count(l => l.StartsWith("FE POST /api/transaction/begin", StringComparison.Ordinal));
        var loads = bed.Server.Log.Count(l => l.StartsWith("BE PUT /api/transaction/load", StringComparison.Ordinal));

        await bed.LoadAsync(Spec, options);

        Assert.Equal((1, 1), (begins, loads));
        Assert.Equal(2, bed.Server.Log.Count(l => l.StartsWith("FE POST /api/transaction/begin", StringComparison.Ordinal)));
        Assert.Equal(1, bed.Server.Log.Count(l => l.StartsWith("BE PUT /api/transaction/load", StringComparison.Ordinal)));
        var stats = bed.LastStats!;
        Assert.Equal((0L, 1L, 0L, 0L), (stats.Loads, stats.FilesAlreadyLoaded, stats.Retries, stats.FilesCommitted));
        Assert.Equal(3, await bed.CountAsync("t"));
    }
}
