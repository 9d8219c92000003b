using System.Text;
using EtlStream.Tests.Servers;
using EtlStream.Tests.Support;
using MySqlConnector;

namespace EtlStream.Tests.StarRocks;

/// <summary>The FE MySQL-port stand-in itself: what it intercepts, how strictly, and what it passes through to MariaDB.</summary>
[Collection(MariaDbCollection.Name)]
public sealed class FeMySqlProxyTests(MariaDbServer mariaDb, AzuriteServer azurite) : IClassFixture<AzuriteServer>
{
    private async Task<(FeMySqlProxy Proxy, string Database, string Container)> StartAsync(string csv, string blob = "in/day.csv")
    {
        var database = await InClusterTestBed.NewDatabaseAsync(mariaDb, "fe");
        await mariaDb.ExecuteAsync("CREATE TABLE t (a TEXT, b TEXT, n BIGINT)", database);
        var container = await azurite.CreateContainerAsync("fe");
        await container.GetBlobClient(blob).UploadAsync(new BinaryData(Encoding.UTF8.GetBytes(csv)));
        var proxy = new FeMySqlProxy(mariaDb.Port, mariaDb.ConnectionString(), a => a == AzuriteServer.AccountName ? new Uri(azurite.AccountUrl) : null).Start();
        return (proxy, database, container.Name);
    }

    private MySqlConnection Connect(FeMySqlProxy proxy, string database) =>
        new(new MySqlConnectionStringBuilder(mariaDb.ConnectionString(database)) { Port = (uint)proxy.Port, Pooling = false }.ConnectionString);

    private static string Insert(string database, string label, string container, string credentials, string blob = "in/day.csv", string select = "$1, $2, CAST($3 AS SIGNED)") =>
        $"INSERT INTO `{database}`.`t` WITH LABEL {label} (a, b, n) SELECT {select} FROM FILES(\"path\" = \"wasbs://{container}@devstoreaccount1.blob.core.windows.net/{blob}\", " +
        $"\"format\" = \"csv\", \"csv.skip_header\" = \"1\", \"csv.column_separator\" = \",\", \"csv.enclose\" = \"\\\"\"{credentials})";

    private static string Key => $", \"azure.blob.storage_account\" = \"devstoreaccount1\", \"azure.blob.shared_key\" = \"{AzuriteServer.AccountKey}\"";

    private async Task<List<object?[]>> RowsAsync(FeMySqlProxy proxy, string database, string sql)
    {
        await using var c = Connect(proxy, database);
        return await DbRows.ReadAsync(c, sql);
    }

    private static async Task<long> ExecuteAsync(MySqlConnection c, string sql)
    {
        await using var cmd = new MySqlCommand(sql, c);
        return await cmd.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task An_insert_from_files_loads_the_raw_fields_once_and_a_second_use_of_its_label_is_refused_in_StarRocks_words()
    {
        var (proxy, db, container) = await StartAsync("A,B,N\n\"x,\"\"y\"\"\nz\",\\N,7\n,\"\",-3\n");
        await using (proxy)
        {
            await using var c = Connect(proxy, db);
            await c.OpenAsync();

            Assert.Equal(2, await ExecuteAsync(c, Insert(db, "l_one", container, Key)));
            var again = await Assert.ThrowsAsync<MySqlException>(() => ExecuteAsync(c, Insert(db, "l_one", container, Key)));

            Assert.Equal("Label [l_one] has already been used.", again.Message);
            Assert.Equal([["x,\"y\"\nz", null, 7L], ["", "", -3L]], await RowsAsync(proxy, db, "SELECT a, b, n FROM t ORDER BY n DESC"));
            Assert.Equal([["FINISHED", 2L]], await RowsAsync(proxy, db, $"SELECT STATE, SINK_ROWS FROM information_schema.loads WHERE DATABASE_NAME = '{db}' AND LABEL = 'l_one'"));
            Assert.Empty(await RowsAsync(proxy, db, $"SELECT STATE, SINK_ROWS FROM information_schema.loads WHERE DATABASE_NAME = '{db}' AND LABEL = 'l_two'"));
            var show = await RowsAsync(proxy, db, $"SHOW LOAD FROM {db} WHERE LABEL = 'l_one'");
            Assert.Equal(("l_one", "FINISHED", "INSERT"), ((string)Assert.Single(show)[1]!, (string)show[0][2]!, (string)show[0][3]!));
            Assert.Equal(1, proxy.InsertsCommitted);
        }
    }

    [Fact]
    public async Task Files_properties_are_checked_strictly_before_anything_is_read_or_written()
    {
        var (proxy, db, container) = await StartAsync("A,B,N\np,q,1\n");
        await using (proxy)
        {
            await using var c = Connect(proxy, db);
            await c.OpenAsync();
            async Task<string> Refused(string sql) => (await Assert.ThrowsAsync<MySqlException>(() => ExecuteAsync(c, sql))).Message;

            Assert.Equal("Unknown property 'csv.colour' of FILES()", await Refused(Insert(db, "l1", container, Key + ", \"csv.colour\" = \"red\"")));
            Assert.Equal("azure.blob.shared_key requires azure.blob.storage_account", await Refused(Insert(db, "l2", container, $", \"azure.blob.shared_key\" = \"{AzuriteServer.AccountKey}\"")));
            Assert.Equal("azure.blob.sas_token requires azure.blob.storage_account and azure.blob.container", await Refused(Insert(db, "l3", container, ", \"azure.blob.storage_account\" = \"devstoreaccount1\", \"azure.blob.sas_token\" = \"sv=x&sig=y\"")));
            Assert.Equal("no credentials: give azure.blob.shared_key or azure.blob.sas_token", await Refused(Insert(db, "l4", container, "")));
            Assert.Equal("Access storage error. Error message: 403 AuthorizationFailure", await Refused(Insert(db, "l5", container,
                ", \"azure.blob.storage_account\" = \"devstoreaccount1\", \"azure.blob.shared_key\" = \"" + Convert.ToBase64String(new byte[64]) + "\"")));
            Assert.StartsWith("path 'wasbs://", await Refused(Insert(db, "l6", container, Key, blob: "in/*.csv")), StringComparison.Ordinal);
            Assert.Equal("column $4 is out of range: the file has 3 columns", await Refused(Insert(db, "l7", container, Key, select: "$1, $2, $4")));
            Assert.Equal(0L, Convert.ToInt64(await mariaDb.ScalarAsync("SELECT COUNT(*) FROM t", db), System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(0, proxy.InsertsCommitted);

            // A value the target column does not take fails the statement, as a strict INSERT does; its label stays free.
            var strict = await Refused(Insert(db, "l8", container, Key, select: "$1, $2, $1"));
            Assert.StartsWith("Insert has filtered data in strict mode: ", strict, StringComparison.Ordinal);
            Assert.Equal(1, await ExecuteAsync(c, Insert(db, "l8", container, Key)));
        }
    }

    [Fact]
    public async Task Swap_exchanges_two_tables_atomically_and_other_statements_pass_through()
    {
        var (proxy, db, _) = await StartAsync("A\n");
        await using (proxy)
        {
            await mariaDb.ExecuteAsync("CREATE TABLE live (v INT); INSERT INTO live VALUES (1); CREATE TABLE staging (v INT); INSERT INTO staging VALUES (2), (3)", db);
            await using var c = Connect(proxy, db);
            await c.OpenAsync();

            await ExecuteAsync(c, "ALTER TABLE live SWAP WITH staging");
            await ExecuteAsync(c, $"ALTER TABLE `{db}`.`live` SWAP WITH `{db}`.`staging`");
            await ExecuteAsync(c, "ALTER TABLE live SWAP WITH staging");

            Assert.Equal([[2], [3]], await RowsAsync(proxy, db, "SELECT v FROM live ORDER BY v"));
            Assert.Equal([[1]], await RowsAsync(proxy, db, "SELECT v FROM staging"));
            Assert.Equal(3, proxy.Log.Count(l => l.StartsWith("SWAP ", StringComparison.Ordinal)));

            // A compressed session could not be read packet by packet: refused at the handshake.
            await using var compressed = new MySqlConnection(new MySqlConnectionStringBuilder(mariaDb.ConnectionString(db)) { Port = (uint)proxy.Port, Pooling = false, UseCompression = true }.ConnectionString);
            await Assert.ThrowsAnyAsync<Exception>(() => compressed.OpenAsync());
            Assert.Contains("refused: TLS or compression requested (connect with SslMode=None, no compression)", proxy.Log);
        }
    }
}
