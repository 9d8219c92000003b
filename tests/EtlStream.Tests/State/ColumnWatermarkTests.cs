using EtlStream.Pipeline;
using EtlStream.State;
using EtlStream.Tenancy;
using EtlStream.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace EtlStream.Tests.State;

/// <summary>
/// <c>watermark_column</c>: a source that re-exports what it exported before (a cumulative extract) loads each row
/// once, because an append takes only rows above the largest value loaded so far.
/// </summary>
public sealed class ColumnWatermarkTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Incoming => _dir.File("incoming");

    private string Database => _dir.File("warehouse/acme.duckdb");

    private string Configs(string watermarkColumn = "updated_at")
    {
        var root = _dir.File("configs");
        Directory.CreateDirectory(Path.Combine(root, "schemas"));
        File.WriteAllText(Path.Combine(root, "schemas", "events.yaml"), """
            table: events
            columns:
              - { name: id,         type: int64, nullable: false }
              - { name: updated_at, type: timestamp, format: "yyyy-MM-dd HH:mm:ss" }
              - { name: amount,     type: "decimal(10,2)" }
            """);
        Directory.CreateDirectory(Path.Combine(root, "tenants", "acme"));
        File.WriteAllText(Path.Combine(root, "tenants", "acme", "tenant.yaml"), $$"""
            tenant: acme
            database: datawiz_acme
            source: { kind: local, path: {{Incoming}} }
            sink: { kind: duckdb, path: {{Database}} }
            tables:
              events: { schema: events, files: "events_{date}.csv", watermark_column: {{watermarkColumn}} }
            jobs:
              morning:
                steps:
                  - { name: events, tables: [events], mode: append }
            """);
        return root;
    }

    private void Write(DateOnly day, params (int Id, string UpdatedAt)[] rows)
    {
        Directory.CreateDirectory(Incoming);
        File.WriteAllText(Path.Combine(Incoming, $"events_{day:yyyy-MM-dd}.csv"),
            "id,updated_at,amount\n" + string.Concat(rows.Select(r => $"{r.Id},{r.UpdatedAt},{r.Id}.50\n")));
    }

    private async Task<LoadResult> RunAsync(TenantConfig tenant, DateOnly date, LoadLedger ledger)
    {
        var runId = await ledger.StartRunAsync(tenant.Id, "morning", date, default);
        var results = await TenantJobRunner.RunAsync(await JobPlan.BuildAsync(tenant, "morning", date, default), new LoadOptions { RejectsPath = _dir.File("rejects") },
            NullLogger.Instance, default, ledger: new LedgerRun(ledger, runId));
        return Assert.Single(results).Result;
    }

    [Fact]
    public async Task A_cumulative_re_export_loads_only_rows_above_the_watermark_to_the_fraction_of_a_second()
    {
        var tenant = TenantConfigReader.Read(Configs(), "acme");
        await using var ledger = await LoadLedger.OpenAsync(_dir.File("state/ledger.db"), default);
        (int, string)[] first =
        [
            (1, "2026-11-20 10:00:00"), (2, "2026-11-20 10:00:01"), (3, "2026-11-20 10:00:03"), (4, "2026-11-20 10:00:02"),
            (5, "2026-11-20 10:00:04.250"),
        ];
        Write(new DateOnly(2026, 11, 20), first);

        var day1 = await RunAsync(tenant, new DateOnly(2026, 11, 20), ledger);

        Assert.Equal((5L, 0L), (day1.RowsLoaded, day1.RowsFiltered));
        Assert.Equal("2026-11-20 10:00:04.250000", await ledger.ColumnWatermarkAsync("acme", "duckdb:datawiz_acme/events", "updated_at", default));

        // The next day's file holds everything again, plus new rows, one of them earlier in the watermark's second.
        Write(new DateOnly(2026, 11, 21),
        [
            .. first, (6, "2026-11-21 09:00:00"), (7, "2026-11-21 09:00:02"), (8, "2026-11-21 09:00:01"),
            (10, "2026-11-20 10:00:04.100"), (11, "2026-11-20 10:00:04.300"),
        ]);

        var day2 = await RunAsync(tenant, new DateOnly(2026, 11, 21), ledger);

        Assert.Equal((4L, 6L), (day2.RowsLoaded, day2.RowsFiltered));
        Assert.Equal([1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 11L], DuckDbQuery.Rows(Database, "SELECT id FROM events ORDER BY id").Select(r => (long)r[0]!));
        Assert.Equal("2026-11-21 09:00:02", await ledger.ColumnWatermarkAsync("acme", "duckdb:datawiz_acme/events", "updated_at", default));
    }

    [Fact]
    public void A_watermark_column_that_is_not_an_integer_date_or_timestamp_is_a_config_error()
    {
        TenantConfigReader.ReadAll(Configs(watermarkColumn: "amount"), out var errors);

        Assert.Contains(errors, e => e.EndsWith("tables.events.watermark_column: 'amount': expected an integer, date or timestamp column read from the files", StringComparison.Ordinal));
    }
}
