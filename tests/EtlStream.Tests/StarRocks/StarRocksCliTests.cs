using System.Text.Json;
using EtlStream.Tables;
using EtlStream.Tests.Cli;
using EtlStream.Tests.Servers;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.StarRocks;

/// <summary><c>etlstream load ... --to starrocks://...</c> as a user runs it: a separate process, the password from the environment.</summary>
[Collection(MariaDbCollection.Name)]
public sealed class StarRocksCliTests(MariaDbServer mariaDb)
{
    [Fact]
    public async Task The_load_command_loads_the_standard_job_into_starrocks_and_never_prints_the_password()
    {
        await using var bed = await StarRocksTestBed.StartAsync(mariaDb);
        var spec = TableSpecReader.ReadFile(Path.Combine(RepoPaths.Root, "perf", "jobs", "invoices.yaml"));
        await bed.CreateTableAsync(spec);
        var input = bed.Dir.File("invoices-5000.csv.gz");
        Assert.Equal(0, (await CliTests.RunAsync(bed.Dir.Path, "generate", "invoices", "--rows", "5000", "--seed", "3", "--out", input)).ExitCode);
        Environment.SetEnvironmentVariable("STARROCKS_PASSWORD", MariaDbServer.Password); // inherited by the CLI process
        var target = $"starrocks://{MariaDbServer.User}@127.0.0.1:{bed.Server.FePort}/{bed.Database}?table={spec.Name}&mysql_port={mariaDb.Port}&state_dir={bed.Dir.Path}/state";
        var report = bed.Dir.File("run.json");

        var (code, stdout, stderr) = await CliTests.RunAsync(bed.Dir.Path, "load", input, "--table", Path.Combine(RepoPaths.Root, "perf", "jobs", "invoices.yaml"), "--to", target, "--report", report);

        Assert.True(code == 0, stderr);
        var loaded = JsonDocument.Parse(await File.ReadAllTextAsync(report)).RootElement.GetProperty("rowsLoaded").GetInt64();
        Assert.InRange(loaded, 4500, 5000);
        Assert.Equal(loaded, await bed.CountAsync(spec.Name));
        foreach (var text in new[] { stdout, stderr, await File.ReadAllTextAsync(report) })
        {
            Assert.DoesNotContain(MariaDbServer.Password, text, StringComparison.Ordinal);
        }
    }
}
