using System.Collections.Concurrent;
using System.Globalization;
using EtlStream.Generation;
using EtlStream.Pipeline;
using EtlStream.Sinks;
using EtlStream.Sinks.Sql;
using EtlStream.State;
using EtlStream.Tables;
using EtlStream.Tenancy;
using EtlStream.Tests.Servers;
using EtlStream.Tests.Support;
using Microsoft.Extensions.Logging;

namespace EtlStream.Tests.Tenancy;

/// <summary>
/// A tenant whose sink is a real database server: the morning job (dimensions merged by key, invoices appended), the
/// evening refresh, the run's own ledger rows and healing from them, a merge refusing a repeated key. One set of
/// tests, run against PostgreSQL, MariaDB and ClickHouse by the subclasses, which say how to reach and read each.
/// </summary>
public abstract class ServerTenantTests : IDisposable
{
    protected static readonly DateOnly Day1 = new(2026, 11, 23);
    protected static readonly DateOnly Day2 = new(2026, 11, 24);
    protected static readonly DateOnly Day3 = new(2026, 11, 25);
    private readonly TempDirectory _dir = new();

    public void Dispose()
    {
        _dir.Dispose();
        GC.SuppressFinalize(this);
    }

    protected TempDirectory Dir => _dir;

    protected string Incoming => _dir.File("incoming");

    /// <summary>The <c>sink.kind</c> the tenant names.</summary>
    protected abstract string Kind { get; }

    /// <summary>The ledger's (and the tenant's) normalized kind.</summary>
    protected virtual string LedgerKind => Kind;

    /// <summary>The ledger's <c>rows</c> column as the dialect must spell it (a reserved word in MariaDB).</summary>
    protected virtual string LedgerRowsColumn => "rows";

    /// <summary>The environment variable the tenant's <c>${NAME}</c> password is read from.</summary>
    protected abstract string SecretName { get; }

    protected abstract string Password { get; }

    /// <summary>A fresh database on the server (created).</summary>
    protected abstract Task<string> NewDatabaseAsync();

    /// <summary>A database name nobody created yet (init-db creates it).</summary>
    protected static string UnusedDatabaseName(string prefix) => $"{prefix}_{Guid.NewGuid():N}"[..(prefix.Length + 21)];

    /// <summary>The target in <c>sink.path</c>.</summary>
    protected abstract string Target(string database);

    /// <summary>Rows of a query, each as its fields' text joined by <c>|</c>.</summary>
    protected abstract Task<List<string>> QueryAsync(string database, string sql);

    /// <summary>A boolean column as 1/0 in the dialect.</summary>
    protected abstract string BoolAsInt(string column);

    /// <summary>A date column as yyyy-MM-dd text in the dialect.</summary>
    protected abstract string DateAsText(string column);

    /// <summary>Replaces the database's <c>_etlstream_ledger</c> by one that refuses the sink's inserts.</summary>
    protected abstract Task BreakLedgerAsync(string database);

    /// <summary>Whether the ledger rows are written in the transaction that publishes the rows (not on ClickHouse).</summary>
    protected virtual bool LedgerInPublishTransaction => true;

    /// <summary>How sink messages name a table of the database: <c>PostgreSQL table "public"."t"</c>.</summary>
    protected abstract string Describe(string database, string table);

    protected string Configs(string database, string extra = "", string factOptions = "")
    {
        Environment.SetEnvironmentVariable(SecretName, Password);
        var root = _dir.File("configs");
        Directory.CreateDirectory(Path.Combine(root, "schemas"));
        foreach (var f in Directory.GetFiles(Path.Combine(RepoPaths.Root, "configs", "schemas")))
        {
            File.Copy(f, Path.Combine(root, "schemas", Path.GetFileName(f)), overwrite: true);
        }

        Directory.CreateDirectory(Path.Combine(root, "tenants", "acme"));
        File.WriteAllText(Path.Combine(root, "tenants", "acme", "tenant.yaml"), $$"""
            tenant: acme
            database: {{database}}
            source: { kind: local, path: {{Incoming}} }
            sink: { kind: {{Kind}}, path: "{{Target(database)}}", password: "${{{SecretName}}}" }
            tables:
              dealers:      { schema: dealers,     files: "dealers_{date}.csv.gz" }
              products:     { schema: products,    files: "products_{date}.csv.gz" }
              territories:  { schema: territories, files: "territories_{date}.csv.gz" }
              fact_invoice_secondary: { schema: fact_invoice_secondary, files: "invoices_{date}.csv.gz"{{factOptions}} }
            jobs:
              morning:
                steps:
                  - { name: dimensions, tables: [dealers, products, territories], mode: merge }
                  - { name: facts, tables: [fact_invoice_secondary], mode: append, after: [dimensions] }
              evening:
                steps:
                  - { name: refresh_dimensions, tables: [dealers, products, territories], mode: replace }
            {{extra}}
            """);
        return root;
    }

    protected async Task<IReadOnlyList<TableLoadResult>> RunAsync(TenantConfig tenant, string job, DateOnly date, LoadLedger ledger, ILogger? logger = null)
    {
        var runId = await ledger.StartRunAsync(tenant.Id, job, date, default);
        return await TenantJobRunner.RunAsync(
            await JobPlan.BuildAsync(tenant, job, date, default), new LoadOptions { RejectsPath = _dir.File("rejects") },
            logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, default, ledger: new LedgerRun(ledger, runId));
    }

    /// <summary>What the day's invoice files hold after the spec's filter (qty ≠ 0): rows and sum(qty).</summary>
    protected (long Rows, long Distinct, long Qty) ExpectedInvoices(params DateOnly[] days)
    {
        var files = string.Join(", ", days.Select(d => DuckDbQuery.Literal(Path.Combine(Incoming, $"invoices_{d:yyyy-MM-dd}.csv.gz"))));
        var row = DuckDbQuery.Rows(
            $"SELECT count(*), count(DISTINCT trim(Dealer_Code) || '|' || trim(Invoice_No)), sum(trim(Qty)::BIGINT)::BIGINT FROM read_csv([{files}], header = true, all_varchar = true) WHERE trim(Qty)::BIGINT <> 0")[0];
        return (Convert.ToInt64(row[0], CultureInfo.InvariantCulture), Convert.ToInt64(row[1], CultureInfo.InvariantCulture), Convert.ToInt64(row[2], CultureInfo.InvariantCulture));
    }

    /// <summary>A day's dealers file as <c>code|active(1/0)|load date</c>, sorted.</summary>
    protected List<string> ExpectedDealers(DateOnly day, DateOnly loadDate) =>
        [.. DuckDbQuery.Rows($"SELECT trim(Dealer_Code), CASE trim(Active) WHEN 'Y' THEN 1 ELSE 0 END FROM read_csv({DuckDbQuery.Literal(Path.Combine(Incoming, $"dealers_{day:yyyy-MM-dd}.csv.gz"))}, header = true, all_varchar = true)")
            .Select(r => $"{r[0]}|{r[1]}|{loadDate:yyyy-MM-dd}").Order(StringComparer.Ordinal)];

    protected async Task<List<string>> DealersAsync(string database) =>
        [.. (await QueryAsync(database, $"SELECT dealer_code, {BoolAsInt("active")}, {DateAsText("load_date")} FROM dealers")).Order(StringComparer.Ordinal)];

    protected async Task<(long Rows, long Distinct, long Qty)> InvoicesAsync(string database)
    {
        var row = (await QueryAsync(database, "SELECT count(*), count(DISTINCT invoice_key), sum(qty) FROM fact_invoice_secondary")).Single().Split('|');
        return (long.Parse(row[0], CultureInfo.InvariantCulture), long.Parse(row[1], CultureInfo.InvariantCulture), row[2].Length == 0 ? 0 : long.Parse(row[2], CultureInfo.InvariantCulture));
    }

    protected async Task<long> CountAsync(string database, string sql) => long.Parse((await QueryAsync(database, sql)).Single(), CultureInfo.InvariantCulture);

    [Fact]
    public async Task Morning_merge_and_append_then_evening_refresh_land_exact_rows_with_their_ledger()
    {
        var database = await NewDatabaseAsync();
        var tenant = TenantConfigReader.Read(Configs(database), "acme");
        await using var ledger = await LoadLedger.OpenAsync(_dir.File("state/ledger.db"), default);
        var day1 = await TenantDataGenerator.WriteDayAsync(Incoming, Day1, seed: 5, invoiceRows: 3_000, default);
        var day2 = await TenantDataGenerator.WriteDayAsync(Incoming, Day2, seed: 5, invoiceRows: 2_000, default);

        // Day 1: the tables do not exist; the first merge creates each with its key.
        var morning1 = await RunAsync(tenant, "morning", Day1, ledger);
        Assert.Equal(["dealers", "products", "territories", "fact_invoice_secondary"], morning1.Select(r => r.Table));
        Assert.Equal(ExpectedDealers(Day1, Day1), await DealersAsync(database));
        Assert.Equal(day1["products"], await CountAsync(database, "SELECT count(*) FROM products"));
        Assert.Equal(day1["territories"], await CountAsync(database, "SELECT count(*) FROM territories"));
        var invoices1 = ExpectedInvoices(Day1);
        Assert.Equal(invoices1, await InvoicesAsync(database));

        // Day 2: the same keys with new Active flags: merged, not doubled; invoices added (in one LOAD/COPY/INSERT
        // straight into the existing table).
        await RunAsync(tenant, "morning", Day2, ledger);
        Assert.Equal(ExpectedDealers(Day2, Day2), await DealersAsync(database));
        Assert.NotEqual(ExpectedDealers(Day1, Day2), ExpectedDealers(Day2, Day2)); // the flags did change
        Assert.Equal(day2["products"], await CountAsync(database, "SELECT count(*) FROM products"));
        var invoices12 = ExpectedInvoices(Day1, Day2);
        Assert.Equal(invoices12, await InvoicesAsync(database));

        // A rerun loads nothing: the local ledger has every file.
        var rerun = await RunAsync(tenant, "morning", Day2, ledger);
        Assert.All(rerun, r => Assert.Equal(0, r.Result.RowsLoaded));

        // Evening of day 3: other dealers (another seed's): a refresh keeps exactly them, where a merge would add them.
        await TenantDataGenerator.WriteDayAsync(Incoming, Day3, seed: 6, invoiceRows: 500, default);
        var keys2 = ExpectedDealers(Day2, Day2).Select(d => d.Split('|')[0]);
        Assert.True(keys2.Union(ExpectedDealers(Day3, Day3).Select(d => d.Split('|')[0])).Count() > TenantDataGenerator.DealerCount);
        await RunAsync(tenant, "evening", Day3, ledger);
        Assert.Equal(ExpectedDealers(Day3, Day3), await DealersAsync(database));
        Assert.Equal(invoices12, await InvoicesAsync(database));

        // The next morning's merge still upserts: the refreshed table kept its key.
        await TenantDataGenerator.WriteDayAsync(Incoming, Day3.AddDays(1), seed: 6, invoiceRows: 400, default);
        await RunAsync(tenant, "morning", Day3.AddDays(1), ledger);
        Assert.Equal(ExpectedDealers(Day3.AddDays(1), Day3.AddDays(1)), await DealersAsync(database));

        // The target's own ledger has each appended or merged file once per load.
        var target = TenantJobRunner.TargetOf(tenant, tenant.Tables["fact_invoice_secondary"]);
        Assert.Equal($"{LedgerKind}:{database}/fact_invoice_secondary", target);
        var booked = await QueryAsync(database, $"SELECT source_name, {LedgerRowsColumn} FROM _etlstream_ledger WHERE target = '{target}' ORDER BY source_name");
        var kept = new[] { Day1, Day2, Day3.AddDays(1) }.Select(d => $"{Path.Combine(Incoming, $"invoices_{d:yyyy-MM-dd}.csv.gz")}|{ExpectedInvoices(d).Rows}");
        Assert.Equal(kept, booked);
    }

    [Fact]
    public async Task A_commit_whose_local_booking_was_lost_is_healed_from_the_target_ledger_and_not_loaded_again()
    {
        var database = await NewDatabaseAsync();
        var tenant = TenantConfigReader.Read(Configs(database), "acme");
        await TenantDataGenerator.WriteDayAsync(Incoming, Day1, seed: 7, invoiceRows: 1_500, default);
        await TenantDataGenerator.WriteDayAsync(Incoming, Day2, seed: 8, invoiceRows: 1_200, default);
        var table = tenant.Tables["fact_invoice_secondary"];
        var target = TenantJobRunner.TargetOf(tenant, table);

        // Day 1 is booked normally (the table's first load); day 2 is committed, with its ledger row, by a run that
        // died before booking it locally: the table exists, so this is the direct load path.
        await using (var first = await LoadLedger.OpenAsync(_dir.File("state/first.db"), default))
        {
            await RunAsync(tenant, "morning", Day1, first);
        }

        var sink = TenantJobRunner.CreateSink(tenant, table, StepMode.Append, ledger: new LedgerStamp("acme", target, "died"));
        await using (sink)
        {
            var files = EtlStream.Sources.Local.LocalFileSource.List(Path.Combine(Incoming, "invoices_2026-11-24.csv.gz"));
            await new LoadPipeline(new LoadOptions { TenantId = "acme", LoadDate = Day2 }).RunAsync(files, table.Spec, sink, default);
        }

        // A new local ledger (the old one lost): both days are healed from the table's own ledger.
        await using var ledger = await LoadLedger.OpenAsync(_dir.File("state/ledger.db"), default);
        var logs = new ListLogger();
        var rerun = await RunAsync(tenant, "morning", Day2, ledger, logs);

        var facts = rerun.Single(r => r.Table == "fact_invoice_secondary");
        Assert.Equal((0L, 1), (facts.Result.RowsLoaded, facts.AlreadyLoaded));
        Assert.Equal("died", (await ledger.CommittedAsync("acme", target, default))[Path.Combine(Incoming, "invoices_2026-11-24.csv.gz")].RunId);
        Assert.Contains($"acme: {target}: 2 files were committed by a run that stopped before booking them; booked now from the table's own ledger", logs.Messages);
        var expected = ExpectedInvoices(Day1, Day2);
        Assert.Equal(expected, await InvoicesAsync(database));
    }

    [Fact]
    public async Task A_ledger_write_that_fails_takes_the_rows_it_books_with_it_where_the_database_has_transactions()
    {
        var database = await NewDatabaseAsync();
        var tenant = TenantConfigReader.Read(Configs(database), "acme");
        await TenantDataGenerator.WriteDayAsync(Incoming, Day1, seed: 7, invoiceRows: 800, default);
        await TenantDataGenerator.WriteDayAsync(Incoming, Day2, seed: 8, invoiceRows: 900, default);
        await using var ledger = await LoadLedger.OpenAsync(_dir.File("state/ledger.db"), default);
        await RunAsync(tenant, "morning", Day1, ledger);
        await BreakLedgerAsync(database);

        // Day 2's invoices go straight into the existing table (PostgreSQL COPY, MySQL LOAD DATA, in one transaction)
        // and its dealers through staging (merge): both transactions end with the ledger rows.
        var table = tenant.Tables["fact_invoice_secondary"];
        foreach (var (name, mode) in new[] { ("fact_invoice_secondary", StepMode.Append), ("dealers", StepMode.Merge) })
        {
            var t = tenant.Tables[name];
            var sink = TenantJobRunner.CreateSink(tenant, t, mode, ledger: new LedgerStamp("acme", TenantJobRunner.TargetOf(tenant, t), "broken"));
            await using (sink)
            {
                var prefix = name == "dealers" ? "dealers" : "invoices";
                var files = EtlStream.Sources.Local.LocalFileSource.List(Path.Combine(Incoming, $"{prefix}_2026-11-24.csv.gz"));
                await Assert.ThrowsAnyAsync<Exception>(() => new LoadPipeline(new LoadOptions { TenantId = "acme", LoadDate = Day2 }).RunAsync(files, t.Spec, sink, default));
            }
        }

        if (LedgerInPublishTransaction)
        {
            Assert.Equal(ExpectedInvoices(Day1), await InvoicesAsync(database));
            Assert.Equal(ExpectedDealers(Day1, Day1), await DealersAsync(database));
        }
        else
        {
            // ClickHouse: the rows were published before the ledger write failed; the next run would load them again.
            Assert.Equal(ExpectedInvoices(Day1, Day2), await InvoicesAsync(database));
            var day2 = ExpectedDealers(Day2, Day2);
            var day2Codes = day2.Select(d => d.Split('|')[0]).ToHashSet(StringComparer.Ordinal);
            var merged = day2.Concat(ExpectedDealers(Day1, Day1).Where(d => !day2Codes.Contains(d.Split('|')[0]))).Order(StringComparer.Ordinal);
            Assert.Equal(merged, await DealersAsync(database));
        }
    }

    [Fact]
    public async Task A_merge_whose_rows_repeat_a_key_fails_naming_it_and_leaves_the_table_as_it_was()
    {
        var database = await NewDatabaseAsync();
        var tenant = TenantConfigReader.Read(Configs(database), "acme");
        await using var ledger = await LoadLedger.OpenAsync(_dir.File("state/ledger.db"), default);
        await TenantDataGenerator.WriteDayAsync(Incoming, Day1, seed: 5, invoiceRows: 300, default);
        await RunAsync(tenant, "morning", Day1, ledger);
        var before = await DealersAsync(database);

        await TenantDataGenerator.WriteDayAsync(Incoming, Day2, seed: 5, invoiceRows: 300, default);
        var dealers = Path.Combine(Incoming, "dealers_2026-11-24.csv.gz");
        File.Delete(dealers);
        await using (var gzip = new System.IO.Compression.GZipStream(File.Create(dealers), System.IO.Compression.CompressionLevel.Fastest))
        await using (var writer = new StreamWriter(gzip))
        {
            await writer.WriteAsync("Dealer_Code,Dealer_Name,Territory,Region,Active,Onboarded_On\nD9,A,T1,R,Y,2020-01-01\nD7,B,T1,R,Y,2020-01-01\nD9,C,T2,R,N,2020-01-02\n");
        }

        var failure = await Assert.ThrowsAsync<DuplicateKeyException>(() => RunAsync(tenant, "morning", Day2, ledger));
        Assert.Equal(
            $"{Describe(database, "dealers")}: the run's rows hold key (dealer_code) = ('D9') 2 times; a table keyed by (dealer_code) takes one row per key, so nothing was published.",
            failure.Message);
        Assert.Equal(before, await DealersAsync(database));
        Assert.Empty(await QueryAsync(database, "SELECT source_name FROM _etlstream_ledger WHERE source_name LIKE '%dealers_2026-11-24%'"));
    }

    [Fact]
    public async Task A_re_uploaded_file_with_on_changed_replace_partition_is_refused_naming_the_sink()
    {
        var database = await NewDatabaseAsync();
        var tenant = TenantConfigReader.Read(Configs(database, factOptions: ", on_changed: replace_partition"), "acme");
        await using var ledger = await LoadLedger.OpenAsync(_dir.File("state/ledger.db"), default);
        await TenantDataGenerator.WriteDayAsync(Incoming, Day1, seed: 5, invoiceRows: 300, default);
        await RunAsync(tenant, "morning", Day1, ledger);
        var before = await InvoicesAsync(database);

        var file = Path.Combine(Incoming, "invoices_2026-11-23.csv.gz");
        File.Delete(file);
        await InvoiceGenerator.WriteFileAsync(file, 200, seed: 99, default);
        File.SetLastWriteTimeUtc(file, DateTime.UtcNow.AddMinutes(1));

        var failure = await Assert.ThrowsAsync<NotSupportedException>(() => RunAsync(tenant, "morning", Day1, ledger));
        Assert.Equal($"acme: fact_invoice_secondary: on_changed: replace_partition is not supported on {LedgerKind} yet", failure.Message);
        Assert.Equal(before, await InvoicesAsync(database));
    }

    protected static string Text(object? value) => value switch
    {
        null => string.Empty,
        bool b => b ? "1" : "0",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };
}
