using System.Globalization;
using EtlStream.Sinks.StarRocks;
using EtlStream.Tables;
using EtlStream.Tests.Servers;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.StarRocks;

/// <summary>
/// StarRocks targets whose FE HTTP port, FE MySQL port or BE accepts connections and never answers, run through
/// the CLI: each fails the run (exit 1) within the target's connect_timeout= or timeout=, naming the port that did not
/// answer and what was waited for, never the password.
/// </summary>
[Collection(MariaDbCollection.Name)]
public sealed class StarRocksTimeoutTests(MariaDbServer mariaDb) : IDisposable
{
    private const string Password = "s3cret-Sr-pw";
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private async Task<(int ExitCode, string Out, string Err)> LoadAsync(string target)
    {
        await File.WriteAllTextAsync(_dir.File("in.csv"), "a,b\n1,x\n2,y\n");

        // Generous: the failures are expected within seconds; this only keeps a regression from hanging the suite.
        return await CliProcess.RunAsync(_dir.Path,
            new Dictionary<string, string?> { ["STARROCKS_PASSWORD"] = Password, ["ETLSTREAM_DB_PASSWORD"] = null },
            "load", _dir.File("in.csv"), "--to", target + $"&state_dir={_dir.Path}/state").WaitAsync(TimeSpan.FromMinutes(2));
    }

    private static string F(string format, params object[] args) => string.Format(CultureInfo.InvariantCulture, format, args);

    [Fact]
    public async Task An_FE_http_port_that_never_answers_fails_the_run_in_the_connect_timeout()
    {
        using var silent = new SilentTcpServer();

        var (code, stdout, stderr) = await LoadAsync(F("starrocks://u@127.0.0.1:{0}/d?table=t&mysql_port=none&connect_timeout=2", silent.Port));

        Assert.True(silent.Accepted > 0, "the client never connected");
        Assert.Equal((1, "", F("error: starrocks 127.0.0.1:{0}: no answer within 2 s while connecting (connect_timeout=2)\n", silent.Port)), (code, stdout, stderr));
    }

    [Fact]
    public async Task An_FE_mysql_port_that_never_answers_fails_the_run_in_the_connect_timeout()
    {
        using var silent = new SilentTcpServer();

        var (code, stdout, stderr) = await LoadAsync(F("doris://u@127.0.0.1:{0}/d?table=t&mysql_port={0}&connect_timeout=2", silent.Port));

        Assert.True(silent.Accepted > 0, "the client never connected");
        Assert.Equal((1, "", F("error: doris fe mysql 127.0.0.1:{0}: no answer within 2 s while connecting (connect_timeout=2)\n", silent.Port)), (code, stdout, stderr));
    }

    [Fact]
    public async Task A_BE_that_never_answers_a_load_fails_the_run_in_the_timeout_and_its_transaction_is_rolled_back()
    {
        await using var bed = await StarRocksTestBed.StartAsync(mariaDb);
        await mariaDb.ExecuteAsync("CREATE TABLE t (a TEXT NULL, b TEXT NULL)", bed.Database);
        using var silentBe = new SilentTcpServer();

        // The test server's FE checks the credentials: the password is the database's. A generous connect_timeout: the
        // FE shares the machine with the rest of the suite, and what is tested is the BE's silence.
        var (code, stdout, stderr) = await CliProcess.RunAsync(_dir.Path,
            new Dictionary<string, string?> { ["STARROCKS_PASSWORD"] = MariaDbServer.Password, ["ETLSTREAM_DB_PASSWORD"] = null },
            "load", await Input(), "--to",
            F("starrocks://{0}@127.0.0.1:{1}/{2}?table=t&mysql_port=none&be=127.0.0.1:{3}&timeout=2&connect_timeout=30&state_dir={4}/state", MariaDbServer.User, bed.Server.FePort, bed.Database, silentBe.Port, _dir.Path))
            .WaitAsync(TimeSpan.FromMinutes(2));

        Assert.Equal((1, ""), (code, stdout));
        Assert.Matches(
            $@"^error: StarRocks {bed.Database}\.t label (\S+): \S*in\.csv chunk 0: transaction load failed: starrocks be 127\.0\.0\.1:{silentBe.Port}: no answer within 2 s while loading \(timeout=2\)\n$",
            stderr);
        Assert.True(silentBe.Received > 0, "the load never reached the BE");
        Assert.Contains(bed.Server.Log, l => l.StartsWith("FE POST /api/transaction/rollback", StringComparison.Ordinal));
        Assert.Empty(bed.Server.OpenTransactions());
        Assert.Equal(0, await bed.CountAsync("t"));
        Assert.DoesNotContain(MariaDbServer.Password, stdout + stderr, StringComparison.Ordinal);

        async Task<string> Input()
        {
            var input = _dir.File("in.csv");
            await File.WriteAllTextAsync(input, "a,b\n1,x\n2,y\n");
            return input;
        }
    }

    /// <summary>
    /// Label mode: a load the BE never answered may have committed, so before each re-send the FE is asked the
    /// label's state (here UNKNOWN: nothing committed, the same label is sent again); after the last attempt the run
    /// fails naming the BE.
    /// </summary>
    [Fact]
    public async Task A_load_the_BE_never_answers_is_resent_only_after_the_label_state_is_asked()
    {
        await using var bed = await StarRocksTestBed.StartAsync(mariaDb);
        await mariaDb.ExecuteAsync("CREATE TABLE t (a TEXT NULL, b TEXT NULL)", bed.Database);
        await File.WriteAllTextAsync(bed.Dir.File("in.csv"), "a,b\n1,x\n2,y\n");
        var spec = TableSpecReader.Read("table: t\ncolumns:\n  - { name: a, type: string }\n  - { name: b, type: string }\n", "t.yaml");
        using var silentBe = new SilentTcpServer();
        var options = bed.Options("t", StreamLoadMode.Label) with
        {
            MySqlPort = null, BackendAddress = $"127.0.0.1:{silentBe.Port}", RequestTimeout = TimeSpan.FromSeconds(1), MaxAttempts = 2,
        };

        var e = await Assert.ThrowsAsync<StreamLoadException>(() => bed.LoadAsync(spec, options).WaitAsync(TimeSpan.FromMinutes(2)));

        Assert.EndsWith(F(": load failed after 2 attempts: starrocks be 127.0.0.1:{0}: no answer within 1 s while loading (timeout=1)", silentBe.Port), e.Message, StringComparison.Ordinal);
        Assert.True(e.IsTransient);
        Assert.Equal(2, silentBe.Accepted); // each attempt on a connection of its own
        Assert.Equal(2, bed.Server.Log.Count(l => l.StartsWith("FE GET /api/" + bed.Database + "/get_load_state " + e.Label, StringComparison.Ordinal)));
        Assert.Equal(0, await bed.CountAsync("t"));
        Assert.DoesNotContain(MariaDbServer.Password, e.Message, StringComparison.Ordinal);
    }
}
