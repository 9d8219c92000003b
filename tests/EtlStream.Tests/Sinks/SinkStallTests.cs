using System.Globalization;
using System.Text;
using EtlStream.Tests.Servers;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Sinks;

/// <summary>
/// A server that stops reading in the middle of a bulk load (behind <see cref="StallingProxy"/>): the run fails in the
/// target's <c>timeout=</c> naming host:port, instead of waiting forever, and commits nothing.
/// </summary>
public sealed class SinkStallTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>About 15 MB of rows: far more than the socket buffers between the client and the stalled proxy hold.</summary>
    internal static string BigCsv(TempDirectory dir)
    {
        var path = dir.File("big.csv");
        using var writer = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 20);
        writer.Write("a,b\n");
        for (var i = 0; i < 600_000; i++)
        {
            writer.Write(i.ToString(CultureInfo.InvariantCulture));
            writer.Write(",some text to fill the row\n");
        }

        return path;
    }

    internal static async Task<(int Code, string Out, string Err)> LoadThroughAsync(TempDirectory dir, string target)
    {
        var env = new Dictionary<string, string?>
        {
            ["PGPASSWORD"] = PostgresServer.Password, ["MYSQL_PWD"] = MariaDbServer.Password, ["ETLSTREAM_DB_PASSWORD"] = null,
        };

        // Generous: the failure is expected within seconds (timeout=2), this only keeps a regression from hanging the suite.
        return await CliProcess.RunAsync(dir.Path, env, ["load", BigCsv(dir), "--to", target, "--no-progress"]).WaitAsync(TimeSpan.FromMinutes(3));
    }
}

[Collection(PostgresCollection.Name)]
public sealed class PostgresStallTests(PostgresServer server) : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_server_that_stops_reading_mid_copy_fails_the_run_in_the_timeout_naming_host_and_port()
    {
        var database = await server.CreateDatabaseAsync("stall");
        using var proxy = new StallingProxy(server.Port, stallAfterBytes: 1 << 20);

        var (code, stdout, stderr) = await SinkStallTests.LoadThroughAsync(_dir,
            $"postgres://{PostgresServer.User}@127.0.0.1:{proxy.Port}/{database}?table=t&timeout=2&connect_timeout=2");

        Assert.True(proxy.Stalled);
        Assert.Equal((1, "", $"error: postgres 127.0.0.1:{proxy.Port}: no answer within 2 s while loading (timeout=2)\n"), (code, stdout, stderr));
        Assert.Empty(await server.RowsAsync("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename = 't'", database)); // staging may stay: its server was unreachable
    }
}

[Collection(MariaDbCollection.Name)]
public sealed class MariaDbStallTests(MariaDbServer server) : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_server_that_stops_reading_mid_load_data_fails_the_run_in_the_timeout_naming_host_and_port()
    {
        var database = await server.CreateDatabaseAsync("stall");
        using var proxy = new StallingProxy(server.Port, stallAfterBytes: 1 << 20);

        var (code, stdout, stderr) = await SinkStallTests.LoadThroughAsync(_dir,
            $"mysql://{MariaDbServer.User}@127.0.0.1:{proxy.Port}/{database}?table=t&timeout=2&connect_timeout=2");

        Assert.True(proxy.Stalled);
        Assert.Equal((1, "", $"error: mysql 127.0.0.1:{proxy.Port}: no answer within 2 s while loading (timeout=2)\n"), (code, stdout, stderr));
        Assert.Empty(await server.RowsAsync($"SELECT table_name FROM information_schema.tables WHERE table_schema = '{database}' AND table_name = 't'"));
    }
}
