using EtlStream.Generation;
using EtlStream.Tests.Cli;
using EtlStream.Tests.Servers;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.State;

/// <summary>
/// A backfill into a real PostgreSQL, killed with SIGKILL at random moments: each date commits its rows and its
/// ledger rows (<c>_etlstream_ledger</c>) in one transaction, and the load ledger heals from them, so every row lands
/// exactly once.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresCrashTests(PostgresServer server) : IDisposable
{
    private const string SecretName = "ETLSTREAM_TEST_POSTGRES_CRASH_PW";
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_backfill_into_postgres_killed_at_random_moments_ends_with_every_row_exactly_once()
    {
        var database = await server.CreateDatabaseAsync("crash");
        Environment.SetEnvironmentVariable(SecretName, PostgresServer.Password); // inherited by the CLI processes
        var incoming = _dir.File("incoming");
        Directory.CreateDirectory(incoming);
        const int Days = 12;
        var first = new DateOnly(2026, 11, 1);
        for (var d = 0; d < Days; d++)
        {
            await InvoiceGenerator.WriteFileAsync(Path.Combine(incoming, $"invoices_{first.AddDays(d):yyyy-MM-dd}.csv.gz"), 40_000, seed: 200 + d, default);
        }

        var configs = _dir.File("configs");
        Directory.CreateDirectory(Path.Combine(configs, "schemas"));
        File.Copy(Path.Combine(RepoPaths.Root, "configs", "schemas", "fact_invoice_secondary.yaml"), Path.Combine(configs, "schemas", "fact_invoice_secondary.yaml"));
        Directory.CreateDirectory(Path.Combine(configs, "tenants", "acme"));
        File.WriteAllText(Path.Combine(configs, "tenants", "acme", "tenant.yaml"), $$"""
            tenant: acme
            database: {{database}}
            source: { kind: local, path: {{incoming}} }
            sink: { kind: postgres, path: "postgres://{{PostgresServer.User}}@127.0.0.1:{{server.Port}}/{{database}}", password: "${{{SecretName}}}" }
            tables:
              fact_invoice_secondary: { schema: fact_invoice_secondary, files: "invoices_{date}.csv.gz" }
            jobs:
              morning:
                steps:
                  - { name: facts, tables: [fact_invoice_secondary], mode: append }
            """);
        string[] args = ["backfill", "--config", configs, "--tenant", "acme", "--table", "fact_invoice_secondary", "--from", "2026-11-01", "--to", "2026-11-12", "--state", _dir.File("state/ledger.db"), "--parallel-files", "1"];

        async Task<(long Rows, long Distinct)> LoadedAsync()
        {
            var exists = (await server.RowsAsync("SELECT to_regclass('public.fact_invoice_secondary') IS NOT NULL", database))[0][0];
            if (exists is false)
            {
                return (0, 0); // killed before its first commit created the table
            }

            var row = (await server.RowsAsync("SELECT count(*), count(DISTINCT invoice_key) FROM fact_invoice_secondary", database))[0];
            return (Convert.ToInt64(row[0]), Convert.ToInt64(row[1]));
        }

        var (killed, failures) = await CrashLoop.KillRepeatedlyAsync(_dir.Path, args, iterations: 20, seed: 7, 300, 1_500, async () =>
        {
            var partial = await LoadedAsync();
            Assert.Equal(partial.Rows, partial.Distinct); // never a duplicate, whenever it died
        });

        var final = await CliTests.RunAsync(_dir.Path, args);
        Assert.True(final.ExitCode == 0, final.Err);
        Assert.DoesNotContain(PostgresServer.Password, final.Out + final.Err, StringComparison.Ordinal);
        var files = string.Join(", ", Enumerable.Range(0, Days).Select(d => DuckDbQuery.Literal(Path.Combine(incoming, $"invoices_{first.AddDays(d):yyyy-MM-dd}.csv.gz"))));
        var expected = Convert.ToInt64(DuckDbQuery.Rows($"SELECT count(*) FROM read_csv([{files}], header = true, all_varchar = true) WHERE trim(Qty)::BIGINT <> 0")[0][0]);
        Assert.Equal((expected, expected), await LoadedAsync());
        var booked = await server.RowsAsync("SELECT count(DISTINCT source_name) FROM _etlstream_ledger", database);
        Assert.Equal(Days, Convert.ToInt64(booked[0][0]));
        Assert.True(killed >= 8, $"only {killed} of 20 runs were killed before they finished: the kill window misses the load; runs that ended by themselves: {string.Join("; ", failures)}");
    }
}
