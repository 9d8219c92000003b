using EtlStream.Sinks.StarRocks;
using EtlStream.State;
using EtlStream.Tables;
using EtlStream.Tests.Cli;
using EtlStream.Tests.Servers;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.StarRocks;

/// <summary>
/// <c>etlstream backfill --in-cluster</c> for a StarRocks tenant: the files in Azurite, the cluster's INSERT … FROM FILES
/// served by <see cref="FeMySqlProxy"/> over the real MariaDB, compared with the streaming backfill of the same range.
/// </summary>
[Collection(MariaDbCollection.Name)]
public sealed class InClusterBackfillTests(MariaDbServer mariaDb, AzuriteServer azurite) : IClassFixture<AzuriteServer>
{
    private static readonly DateOnly LastDay = InClusterTestBed.FirstDay.AddDays(3);

    private static string Columns =>
        "invoice_key, invoice_no, invoice_date, dealer_code, dealer_name, territory, region, product_code, product_name, category, qty, unit_price, discount_pct, " +
        "net_amount, tax_amount, gross_amount, currency, salesman_code, active_flag, created_at, remarks, batch_no, is_return, tenant_id, source_file, load_date";

    private static string[] Backfill(string root, string ledger, params string[] more) =>
        ["backfill", "--config", root, "--tenant", "acme", "--table", InClusterTestBed.Table, "--from", "2026-11-01", "--to", "2026-11-04", "--state", ledger, .. more];

    /// <summary>The streaming backfill of the range, through Stream Load, into a database of its own; returns that database.</summary>
    private async Task<string> StreamedAsync(InClusterTestBed bed, string schema = InClusterTestBed.Table, string? extraSchema = null)
    {
        var streamed = await InClusterTestBed.NewDatabaseAsync(mariaDb, "st");
        var streamServer = new StreamLoadServer(mariaDb.ConnectionString(), MariaDbServer.User, MariaDbServer.Password).Start();
        await using (streamServer)
        {
            var streamRoot = bed.Configs("st-configs", streamed, streamServer.FePort, mariaDb.Port, schema: schema, extraSchema: extraSchema);
            await bed.CreateTableAsync(streamed, Path.Combine(streamRoot, "schemas", schema + ".yaml"));
            var (code, _, err) = await CliTests.RunAsync(bed.Dir.Path, Backfill(streamRoot, bed.Dir.File("st-ledger.db")));
            Assert.True(code == 0, err);
        }

        return streamed;
    }

    /// <summary>Both tables hold exactly the same rows: EXCEPT ALL both ways, and per-column counts and checksums.</summary>
    private static async Task AssertSameRowsAsync(InClusterTestBed bed, string streamed, string columns)
    {
        foreach (var (a, b) in new[] { (bed.Database, streamed), (streamed, bed.Database) })
        {
            Assert.Empty(await bed.RowsAsync($"SELECT {columns} FROM `{a}`.`{InClusterTestBed.Table}` EXCEPT ALL SELECT {columns} FROM `{b}`.`{InClusterTestBed.Table}`"));
        }

        // Per column too, so that a NULL-vs-empty or rounding difference shows by column.
        var checksums = $"SELECT {string.Join(", ", columns.Split(", ").Select(c => $"COUNT({c}), SUM(CRC32(CAST({c} AS CHAR)))"))} FROM `{InClusterTestBed.Table}`";
        Assert.Equal(await bed.RowsAsync(checksums, streamed), await bed.RowsAsync(checksums));
    }

    [Fact]
    public async Task An_in_cluster_backfill_ends_with_exactly_the_rows_of_the_streaming_backfill_and_a_rerun_submits_nothing()
    {
        await using var bed = await InClusterTestBed.StartAsync(mariaDb, azurite);
        var streamed = await StreamedAsync(bed);

        var (icCode, icOut, icErr) = await CliTests.RunAsync(bed.Dir.Path, Backfill(bed.InClusterConfigs(), bed.Ledger, "--in-cluster", "--parallel-files", "3"));

        Assert.True(icCode == 0, icErr);
        Assert.Equal(4, bed.Proxy.InsertsCommitted);
        var count = await bed.CountAsync();
        Assert.Equal(await bed.CountAsync(streamed), count);
        Assert.InRange(count, 1400, 1900);
        Assert.Matches($@"^acme/fact_invoice_secondary in-cluster backfill 2026-11-01\.\.2026-11-04 shard 0/1: {count:N0} rows from 4 files \(4 submitted, 0 already committed under their labels, 0 already loaded\) \(run [0-9TZ]+-[0-9a-f]+\)\n$", icOut);
        Assert.Equal("", icErr);
        await AssertSameRowsAsync(bed, streamed, Columns);
        Assert.Equal([[4L]], await bed.RowsAsync($"SELECT COUNT(DISTINCT source_file) FROM `{InClusterTestBed.Table}` WHERE load_date = str_to_date(substr(source_file, 10, 10), '%Y-%m-%d')"));

        // A rerun submits nothing: the ledger has every file.
        var (again, againOut, againErr) = await CliTests.RunAsync(bed.Dir.Path, Backfill(bed.InClusterConfigs(), bed.Ledger, "--in-cluster"));
        Assert.True(again == 0, againErr);
        Assert.Contains(": 0 rows from 0 files (0 submitted, 0 already committed under their labels, 4 already loaded)", againOut, StringComparison.Ordinal);
        Assert.Equal(4, bed.Proxy.InsertsCommitted);
        Assert.Equal(4, bed.Proxy.Log.Count(l => l.StartsWith("INSERT FILES ", StringComparison.Ordinal)));
        Assert.Equal(count, await bed.CountAsync());

        // And a plain (streaming) backfill into the same table skips them too: one ledger, the same target name.
        var (plain, plainOut, plainErr) = await CliTests.RunAsync(bed.Dir.Path, Backfill(bed.InClusterConfigs(), bed.Ledger));
        Assert.True(plain == 0, plainErr);
        Assert.Contains("loaded 0 rows from 0 files", plainOut, StringComparison.Ordinal);
        foreach (var text in new[] { icOut, icErr, againOut, againErr, plainOut, plainErr })
        {
            Assert.DoesNotContain(AzuriteServer.AccountKey, text, StringComparison.Ordinal);
            Assert.DoesNotContain(MariaDbServer.Password, text, StringComparison.Ordinal);
        }

        // The labels are the streaming path's (Stream Load transaction labels): into the database the streaming backfill
        // loaded, with a ledger that knows nothing, every file is recognised by its label and nothing is loaded twice.
        var streamedCount = await bed.CountAsync(streamed);
        var overStreamed = bed.Configs("ic-over-streamed", streamed, 1, bed.Proxy.Port);
        var fresh = bed.Dir.File("fresh-ledger.db");
        var healed = await bed.RunAsync(await bed.PlanAsync(overStreamed, LastDay, ledgerPath: fresh), fresh);
        Assert.Equal((0, 4, streamedCount), (healed.Loaded, healed.Healed, healed.RowsLoaded));
        Assert.Equal(4, bed.Proxy.InsertsCommitted);
        Assert.Equal(streamedCount, await bed.CountAsync(streamed));
    }

    [Fact]
    public async Task Null_tokens_untrimmed_and_default_bool_columns_constants_and_typed_filters_give_the_streaming_rows_too()
    {
        const string schema = """
            table: fact_custom
            trim: true
            csv: { null: ["", "NA"] }
            columns:
              - name: invoice_key
                type: varchar(48)
                computed: { concat: [dealer_code, { literal: "x" }, invoice_no], separator: "|" }
              - { name: invoice_no,    type: varchar(16), nullable: false }
              - { name: invoice_date,  type: date, format: dd-MM-yyyy }
              - { name: dealer_code,   type: varchar(16) }
              - { name: dealer_name,   type: string, trim: false }
              - { name: region,        type: string, null: ["Gulf"] }
              - { name: qty,           type: int32 }
              - { name: gross_amount,  type: "decimal(18,2)" }
              - { name: discount_pct,  type: float64 }
              - { name: salesman_code, type: varchar(16) }
              - { name: active_flag,   type: bool, true: [y], false: [n] }
              - { name: is_return,     type: bool }
              - { name: created_at,    type: timestamp }
              - { name: feed,          type: string, computed: { constant: "feed's \\ 1" } }
              - { name: tenant_id,     type: varchar(64), computed: tenant }
              - { name: source_file,   type: string, computed: source_file }
              - { name: load_date,     type: date, computed: load_date }
            filter:
              - { column: region, in: [North, South, East, North-East] }
              - { column: gross_amount, op: ">=", value: 100.5 }
              - { column: invoice_date, op: "<", value: "01-07-2026" }
              - { column: salesman_code, not_null: true }
            """;
        await using var bed = await InClusterTestBed.StartAsync(mariaDb, azurite, days: 3, rows: 500);
        await bed.UploadReorderedAsync(LastDay, 400, seed: 7);
        var streamed = await StreamedAsync(bed, "fact_custom", schema);
        var root = bed.InClusterConfigs(schema: "fact_custom", extraSchema: schema);
        await mariaDb.ExecuteAsync($"DROP TABLE `{InClusterTestBed.Table}`", bed.Database);
        await bed.CreateTableAsync(bed.Database, Path.Combine(root, "schemas", "fact_custom.yaml"));

        var plan = await bed.PlanAsync(root, LastDay);
        var result = await bed.RunAsync(plan);

        Assert.Equal(2, plan.HeaderLayouts);
        Assert.Single(plan.Describe().Split('\n'), l => l.Contains("\"csv.enclose\" = \"\\\"\", \"csv.row_delimiter\" = \"\\r\\n\", ", StringComparison.Ordinal));
        Assert.Equal(4, result.Loaded);
        var count = await bed.CountAsync();
        Assert.Equal(await bed.CountAsync(streamed), count);
        Assert.InRange(count, 100, 800);
        await AssertSameRowsAsync(bed, streamed,
            "invoice_key, invoice_no, invoice_date, dealer_code, dealer_name, region, qty, gross_amount, discount_pct, salesman_code, active_flag, is_return, created_at, feed, tenant_id, source_file, load_date");
        Assert.Equal([["feed's \\ 1", 0L]], await bed.RowsAsync($"SELECT DISTINCT feed, CAST(SUM(region = 'Gulf') AS SIGNED) FROM `{InClusterTestBed.Table}` GROUP BY feed"));
    }

    [Fact]
    public async Task A_file_whose_name_does_not_tell_its_compression_is_refused_before_anything_is_submitted()
    {
        await using var bed = await InClusterTestBed.StartAsync(mariaDb, azurite, days: 1, rows: 20);
        var container = azurite.Client().GetBlobContainerClient(bed.Container);
        await container.GetBlobClient("drops/invoices_2026-11-02.csv.gz").UploadAsync(new BinaryData("Invoice_No\nINV-1\n"u8.ToArray()));

        var refused = await Assert.ThrowsAsync<ConfigException>(() => bed.PlanAsync(bed.InClusterConfigs(), LastDay));

        Assert.Equal(
            [$"acme/fact_invoice_secondary --in-cluster: az://{bed.Container}/drops/invoices_2026-11-02.csv.gz: the content is uncompressed but the name says gzip: FILES() decides the compression by the name's suffix"],
            refused.Errors);
        Assert.Empty(bed.Proxy.Log);
    }

    [Fact]
    public async Task A_file_the_cluster_refuses_fails_the_run_naming_it_without_the_key_and_the_others_stay_booked()
    {
        await using var bed = await InClusterTestBed.StartAsync(mariaDb, azurite, days: 1, rows: 30);
        var header = string.Join(",", EtlStream.Generation.InvoiceGenerator.Header);
        var row = "INV-1,02-11-2026,D1,Dealer,T,North,P1,Product,Cat,{0},12.x,1.00,10.00,1.00,11.00,INR,S1,Y,2026-11-02 10:00:00,,B1,FALSE";
        await azurite.Client().GetBlobContainerClient(bed.Container).GetBlobClient("drops/invoices_2026-11-02.csv")
            .UploadAsync(new BinaryData(System.Text.Encoding.UTF8.GetBytes($"{header}\n{string.Format(System.Globalization.CultureInfo.InvariantCulture, row, 5)}\n")));
        var root = bed.Configs("ic-any", bed.Database, 1, bed.Proxy.Port);
        var yaml = Path.Combine(root, "tenants", "acme", "tenant.yaml");
        await File.WriteAllTextAsync(yaml, (await File.ReadAllTextAsync(yaml)).Replace("invoices_{date}.csv.gz", "invoices_{date}.csv*", StringComparison.Ordinal));

        var (code, stdout, stderr) = await CliTests.RunAsync(bed.Dir.Path, Backfill(root, bed.Ledger, "--in-cluster"));

        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.StartsWith(
            $"error: acme/fact_invoice_secondary: 1 of 2 files failed (1 committed and booked; a rerun submits the rest):\n  az://{bed.Container}/drops/invoices_2026-11-02.csv: Insert has filtered data in strict mode: ",
            stderr, StringComparison.Ordinal);
        Assert.EndsWith("Insert has filtered data in strict mode: Data truncated for column 'unit_price' at row 1\n", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(AzuriteServer.AccountKey, stderr, StringComparison.Ordinal);
        Assert.Equal(1, bed.Proxy.InsertsCommitted);
        await using var ledger = await LoadLedger.OpenAsync(bed.Ledger, default);
        var booked = Assert.Single(await ledger.CommittedAsync("acme", $"starrocks:{bed.Database}/{InClusterTestBed.Table}", default));
        Assert.Equal($"az://{bed.Container}/drops/invoices_2026-11-01.csv.gz", booked.Key);
        var run = Assert.Single(await ledger.RunsAsync("acme", 5, default));
        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.DoesNotContain(AzuriteServer.AccountKey, run.Error!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_reply_lost_after_the_commit_is_healed_by_the_label_and_so_is_a_lost_ledger()
    {
        await using var bed = await InClusterTestBed.StartAsync(mariaDb, azurite, days: 3, rows: 200);
        var plan = await bed.PlanAsync(bed.InClusterConfigs(), LastDay);
        bed.Proxy.DropReplyAfterCommit(1);
        bed.Proxy.ReportLoading(2);

        var result = await bed.RunAsync(plan, parallel: 1);

        Assert.Equal((2, 1, 0), (result.Loaded, result.Healed, result.AlreadyLoaded));
        var dropped = Assert.Single(bed.Proxy.Log, l => l.StartsWith("dropped reply ", StringComparison.Ordinal))["dropped reply ".Length..];
        Assert.Equal(3, bed.Proxy.Log.Count(l => l == "LOADS " + dropped)); // LOADING, LOADING, FINISHED
        Assert.Equal(3, bed.Proxy.InsertsCommitted);
        var count = await bed.CountAsync();
        Assert.Equal(count, result.RowsLoaded);
        Assert.Equal([[3L, count]], await bed.RowsAsync($"SELECT COUNT(*), CAST(SUM(row_count) AS SIGNED) FROM `{StreamLoadServer.LabelTable}`"));
        Assert.Equal([[0L]], await bed.RowsAsync($"SELECT COUNT(*) FROM (SELECT invoice_no FROM `{InClusterTestBed.Table}` GROUP BY invoice_no, source_file HAVING COUNT(*) > 1) d"));
        await using (var ledger = await LoadLedger.OpenAsync(bed.Ledger, default))
        {
            var booked = await ledger.CommittedAsync("acme", $"starrocks:{bed.Database}/{InClusterTestBed.Table}", default);
            Assert.Equal(3, booked.Count);
            Assert.Equal(count, booked.Values.Sum(e => e.Rows));
        }

        // A run that committed and died before booking (here: a fresh ledger) resubmits; every label says FINISHED.
        var fresh = bed.Dir.File("fresh-ledger.db");
        var again = await bed.RunAsync(await bed.PlanAsync(bed.InClusterConfigs(), LastDay, ledgerPath: fresh), fresh);

        Assert.Equal((0, 3, 0, count), (again.Loaded, again.Healed, again.AlreadyLoaded, again.RowsLoaded));
        Assert.Equal(3, bed.Proxy.InsertsCommitted);
        Assert.Equal(count, await bed.CountAsync());
    }

    [Fact]
    public async Task Shards_split_the_files_exactly_and_together_load_them_all_once()
    {
        await using var bed = await InClusterTestBed.StartAsync(mariaDb, azurite, days: 6, rows: 100);
        var root = bed.InClusterConfigs();
        var all = (await bed.PlanAsync(root, InClusterTestBed.FirstDay.AddDays(5))).Files.Select(f => f.Source.Name).ToList();
        var shards = new List<List<string>>();
        for (var i = 0; i < 3; i++)
        {
            shards.Add([.. (await bed.PlanAsync(root, InClusterTestBed.FirstDay.AddDays(5), new Shard(i, 3))).Files.Select(f => f.Source.Name)]);
        }

        Assert.Equal(6, all.Count);
        Assert.Equal(all.Order(StringComparer.Ordinal), shards.SelectMany(s => s).Order(StringComparer.Ordinal));
        Assert.Equal(6, shards.SelectMany(s => s).Distinct(StringComparer.Ordinal).Count());

        long rows = 0;
        for (var i = 0; i < 3; i++)
        {
            var result = await bed.RunAsync(await bed.PlanAsync(root, InClusterTestBed.FirstDay.AddDays(5), new Shard(i, 3)));
            Assert.Equal(shards[i].Count, result.Loaded);
            rows += result.RowsLoaded;
        }

        var whole = await bed.RunAsync(await bed.PlanAsync(root, InClusterTestBed.FirstDay.AddDays(5)));
        Assert.Equal((0, 0, 6), (whole.Loaded, whole.Healed, whole.AlreadyLoaded));
        Assert.Equal(6, bed.Proxy.InsertsCommitted);
        Assert.Equal(rows, await bed.CountAsync());
    }

    [Fact]
    public async Task The_plan_prints_every_statement_without_the_key_or_the_SAS_and_submits_nothing()
    {
        await using var bed = await InClusterTestBed.StartAsync(mariaDb, azurite, days: 2, rows: 50);

        var (code, stdout, stderr) = await CliTests.RunAsync(bed.Dir.Path, Backfill(bed.InClusterConfigs(), bed.Ledger, "--in-cluster", "--plan"));

        Assert.True(code == 0, stderr);
        Assert.Equal("", stderr);
        Assert.Empty(bed.Proxy.Log);
        Assert.DoesNotContain(AzuriteServer.AccountKey, stdout, StringComparison.Ordinal);
        Assert.StartsWith("in-cluster backfill: tenant acme, table fact_invoice_secondary, 2026-11-01 to 2026-11-04, shard 0/1: 2 statements, 0 files already loaded, 1 header layouts\n", stdout, StringComparison.Ordinal);
        Assert.Contains("  note: values: a value that does not convert to its column fails the file's INSERT (StarRocks enable_insert_strict, on by default) instead of going to a rejects file\n", stdout, StringComparison.Ordinal);
        Assert.Equal(2, stdout.Split('\n').Count(l => l.StartsWith($"INSERT INTO `{bed.Database}`.`fact_invoice_secondary` WITH LABEL etl_acme_fact_invoice_secondary_", StringComparison.Ordinal)));
        Assert.Contains("SELECT concat(trim(nullif($3, '')), '|', trim(nullif($1, ''))), trim(nullif($1, '')), coalesce(date_format(str_to_date(trim(nullif($2, '')), '%d-%m-%Y'), '%Y-%m-%d'), concat('?', trim(nullif($2, '')))), ", stdout, StringComparison.Ordinal);
        Assert.Contains("CASE WHEN upper(trim(nullif($18, ''))) IN ('Y') THEN '1' WHEN upper(trim(nullif($18, ''))) IN ('N') THEN '0' ELSE concat('?', trim(nullif($18, ''))) END", stdout, StringComparison.Ordinal);
        Assert.Contains(", 'acme', 'invoices_2026-11-02.csv.gz', '2026-11-02'\nFROM FILES(", stdout, StringComparison.Ordinal);
        Assert.Contains(
            $"FROM FILES(\"path\" = \"wasbs://{bed.Container}@devstoreaccount1.blob.core.windows.net/drops/invoices_2026-11-01.csv.gz\", \"format\" = \"csv\", \"csv.skip_header\" = \"1\", " +
            "\"csv.column_separator\" = \",\", \"csv.enclose\" = \"\\\"\", \"azure.blob.storage_account\" = \"devstoreaccount1\", \"azure.blob.shared_key\" = \"***\")\nWHERE CAST(trim(nullif($10, '')) AS SIGNED) <> 0;\n",
            stdout, StringComparison.Ordinal);

        // A container SAS instead of the key: the token is hidden too, signature and all.
        var sas = AzuriteServer.ReadListSas(bed.Container);
        Environment.SetEnvironmentVariable("ETLSTREAM_TEST_INCLUSTER_SAS", sas);
        var sasRoot = bed.Configs("sas-configs", bed.Database, 1, bed.Proxy.Port, "sas_token: \"${ETLSTREAM_TEST_INCLUSTER_SAS}\"");
        var (sasCode, sasOut, sasErr) = await CliTests.RunAsync(bed.Dir.Path, Backfill(sasRoot, bed.Ledger, "--in-cluster", "--plan"));
        Assert.True(sasCode == 0, sasErr);
        Assert.Contains($"\"azure.blob.storage_account\" = \"devstoreaccount1\", \"azure.blob.container\" = \"{bed.Container}\", \"azure.blob.sas_token\" = \"***\")", sasOut, StringComparison.Ordinal);
        Assert.DoesNotContain(sas, sasOut, StringComparison.Ordinal);
        Assert.DoesNotContain("sig=", sasOut, StringComparison.Ordinal);
        Assert.Empty(bed.Proxy.Log);

        // And the SAS works: the cluster (the stand-in) reads the blobs with it.
        var result = await bed.RunAsync(await bed.PlanAsync(sasRoot, LastDay));
        Assert.Equal(2, result.Loaded);
        Assert.Equal(result.RowsLoaded, await bed.CountAsync());
    }

    [Fact]
    public async Task What_the_cluster_cannot_do_is_refused_before_anything_is_submitted_with_every_feature_listed()
    {
        await using var bed = await InClusterTestBed.StartAsync(mariaDb, azurite, days: 1, rows: 20);
        var schema = (await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "configs", "schemas", "fact_invoice_secondary.yaml")))
            .Replace("table: fact_invoice_secondary", "table: fact_invoice_secondary\nmax_reject_ratio: 0.01\nschema_drift: evolve", StringComparison.Ordinal)
            .Replace("{ name: invoice_no,    type: varchar(16), nullable: false }", "{ name: invoice_no, type: varchar(16), nullable: false, rules: { regex: \"^INV-[0-9]+$\", unique: true } }", StringComparison.Ordinal)
            .Replace("{ name: currency,      type: varchar(3) }", "{ name: currency, type: varchar(3), overflow: truncate }", StringComparison.Ordinal);
        var root = bed.Configs("strict-configs", bed.Database, 1, bed.Proxy.Port, schema: "fact_strict", extraSchema: schema.Replace("table: fact_invoice_secondary", "table: fact_strict", StringComparison.Ordinal));

        var refused = await Assert.ThrowsAsync<ConfigException>(() => bed.PlanAsync(root, InClusterTestBed.FirstDay));

        Assert.Equal(
            [
                "acme/fact_invoice_secondary --in-cluster: max_reject_ratio: 0.01 (a strict INSERT fails on the first bad row; a share of rejects cannot be allowed)",
                "acme/fact_invoice_secondary --in-cluster: schema_drift: evolve (new source columns cannot be added by the cluster's INSERT)",
                "acme/fact_invoice_secondary --in-cluster: columns[1] invoice_no: rules.regex (per-value validation messages)",
                "acme/fact_invoice_secondary --in-cluster: columns[1] invoice_no: rules.unique (uniqueness across the files of a load)",
                "acme/fact_invoice_secondary --in-cluster: columns[16] currency: overflow: truncate (a longer value fails the INSERT; lengths are not changed)",
            ],
            refused.Errors);

        var (code, stdout, stderr) = await CliTests.RunAsync(bed.Dir.Path, Backfill(root, bed.Ledger, "--in-cluster"));
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Equal(string.Concat(refused.Errors.Select(e => $"error: {e}\n")), stderr);

        // Doris, and a local source, are refused with their reasons.
        var doris = await Assert.ThrowsAsync<ConfigException>(() => bed.PlanAsync(bed.Configs("doris-configs", bed.Database, 1, bed.Proxy.Port, sinkKind: "doris"), InClusterTestBed.FirstDay));
        Assert.Equal(["acme/fact_invoice_secondary --in-cluster: doris tenants are not supported yet (Doris reads object storage through Broker Load or the S3 table function, which this does not generate)"], doris.Errors);
        Assert.Empty(bed.Proxy.Log);
        Assert.Equal(0L, await bed.CountAsync());
    }

    /// <summary>
    /// Issue 22: the INSERT … FROM FILES waited up to its one-hour statement timeout on an FE that stopped answering.
    /// Now the probes see the FE silent and the file fails within the target's timeout=, naming the port; nothing is booked.
    /// </summary>
    [Fact]
    public async Task An_FE_that_stops_answering_during_an_INSERT_fails_the_file_within_the_timeout_naming_the_port()
    {
        await using var bed = await InClusterTestBed.StartAsync(mariaDb, azurite, days: 1, rows: 50);
        var plan = await bed.PlanAsync(bed.InClusterConfigs(sinkOptions: "&timeout=2&connect_timeout=2"), InClusterTestBed.FirstDay);
        bed.Proxy.FreezeOnInsert();

        // Generous: the failure is expected within seconds; this only keeps a regression from hanging the suite.
        var e = await Assert.ThrowsAsync<InClusterLoadException>(() => bed.RunAsync(plan, parallel: 1).WaitAsync(TimeSpan.FromMinutes(3)));

        var file = Assert.Single(plan.Files).Source.Name;
        Assert.Equal(
            $"acme/{InClusterTestBed.Table}: 1 of 1 files failed (0 committed and booked; a rerun submits the rest):\n" +
            $"  {file}: starrocks fe mysql 127.0.0.1:{bed.Proxy.Port}: no answer within 2 s while running INSERT … FROM FILES (timeout=2)",
            e.Message);
        Assert.Single(bed.Proxy.Log, l => l.StartsWith("frozen: INSERT INTO", StringComparison.Ordinal));
        Assert.Equal(0, bed.Proxy.InsertsCommitted);
        await using var ledger = await LoadLedger.OpenAsync(bed.Ledger, default);
        Assert.Empty(await ledger.CommittedAsync("acme", $"starrocks:{bed.Database}/{InClusterTestBed.Table}", default));
    }
}
