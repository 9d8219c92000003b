using EtlStream.Generation;
using EtlStream.Tables;
using EtlStream.Tests.Cli;
using EtlStream.Tests.Servers;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.StarRocks;

/// <summary>
/// A backfill into StarRocks (the protocol server committing into MariaDB), killed with SIGKILL at random moments:
/// per-file transactions, deterministic labels, the open-transaction record and the load ledger together must leave
/// every row exactly once.
/// </summary>
[Collection(MariaDbCollection.Name)]
public sealed class StarRocksCrashTests(MariaDbServer mariaDb)
{
    private const string SecretName = "ETLSTREAM_TEST_STARROCKS_CRASH_PW";

    [Fact]
    public async Task A_backfill_into_starrocks_killed_at_random_moments_ends_with_every_row_exactly_once()
    {
        await using var bed = await StarRocksTestBed.StartAsync(mariaDb);
        Environment.SetEnvironmentVariable(SecretName, MariaDbServer.Password); // inherited by the CLI processes
        var spec = TableSpecReader.ReadFile(Path.Combine(RepoPaths.Root, "configs", "schemas", "fact_invoice_secondary.yaml")) with { Name = "fact_invoice_secondary" };
        await bed.CreateTableAsync(spec);

        var incoming = bed.Dir.File("incoming");
        Directory.CreateDirectory(incoming);
        const int Days = 10;
        var first = new DateOnly(2026, 11, 1);
        for (var d = 0; d < Days; d++)
        {
            await InvoiceGenerator.WriteFileAsync(Path.Combine(incoming, $"invoices_{first.AddDays(d):yyyy-MM-dd}.csv.gz"), 20_000, seed: 100 + d, default);
        }

        var configs = bed.Dir.File("configs");
        Directory.CreateDirectory(Path.Combine(configs, "schemas"));
        File.Copy(Path.Combine(RepoPaths.Root, "configs", "schemas", "fact_invoice_secondary.yaml"), Path.Combine(configs, "schemas", "fact_invoice_secondary.yaml"));
        Directory.CreateDirectory(Path.Combine(configs, "tenants", "acme"));
        var target = $"starrocks://{MariaDbServer.User}@127.0.0.1:{bed.Server.FePort}/{bed.Database}?mysql_port={mariaDb.Port}&state_dir={bed.Dir.Path}/sr-state";
        File.WriteAllText(Path.Combine(configs, "tenants", "acme", "tenant.yaml"), $$"""
            tenant: acme
            database: {{bed.Database}}
            source: { kind: local, path: {{incoming}} }
            sink: { kind: starrocks, path: "{{target}}", password: "${{{SecretName}}}" }
            tables:
              fact_invoice_secondary: { schema: fact_invoice_secondary, files: "invoices_{date}.csv.gz" }
            jobs:
              morning:
                steps:
                  - { name: facts, tables: [fact_invoice_secondary], mode: append }
            """);
        string[] args = ["backfill", "--config", configs, "--tenant", "acme", "--table", "fact_invoice_secondary", "--from", "2026-11-01", "--to", "2026-11-10", "--state", bed.Dir.File("state/ledger.db"), "--parallel-files", "1"];

        async Task<(long Rows, long Distinct)> LoadedAsync()
        {
            var row = (await bed.RowsAsync("SELECT COUNT(*), COUNT(DISTINCT invoice_key) FROM fact_invoice_secondary"))[0];
            return (Convert.ToInt64(row[0]), Convert.ToInt64(row[1]));
        }

        var (killed, failures) = await CrashLoop.KillRepeatedlyAsync(bed.Dir.Path, args, iterations: 20, seed: 6, 300, 1_500, async () =>
        {
            var partial = await LoadedAsync();
            Assert.Equal(partial.Rows, partial.Distinct); // never a duplicate, whenever it died
        });

        var final = await CliTests.RunAsync(bed.Dir.Path, args);
        Assert.True(final.ExitCode == 0, final.Err);
        Assert.DoesNotContain(MariaDbServer.Password, final.Out + final.Err, StringComparison.Ordinal);
        var files = string.Join(", ", Enumerable.Range(0, Days).Select(d => DuckDbQuery.Literal(Path.Combine(incoming, $"invoices_{first.AddDays(d):yyyy-MM-dd}.csv.gz"))));
        var expected = Convert.ToInt64(DuckDbQuery.Rows($"SELECT count(*) FROM read_csv([{files}], header = true, all_varchar = true) WHERE trim(Qty)::BIGINT <> 0")[0][0]);
        Assert.Equal((expected, expected), await LoadedAsync());
        Assert.True(killed >= 8, $"only {killed} of 20 runs were killed before they finished: the kill window misses the load; runs that failed by themselves: {string.Join("; ", failures)}");
    }
}
