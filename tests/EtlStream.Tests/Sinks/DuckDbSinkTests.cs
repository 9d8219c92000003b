using Apache.Arrow;
using Apache.Arrow.Types;
using EtlStream.Sinks.DuckDb;
using EtlStream.Sinks;
using EtlStream.Sinks.Sql;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Sinks;

public sealed class DuckDbSinkTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Db => _dir.File("nested/dir/test.duckdb");

    private DuckDbSinkOptions Options(string table = "facts", DuckDbWriteMode mode = DuckDbWriteMode.Append) =>
        new() { DatabasePath = Db, Table = table, Mode = mode };

    private static async Task LoadAsync(DuckDbSinkOptions options, Schema schema, params RecordBatch[][] chunks)
    {
        await using var sink = new DuckDbSink(options);
        await sink.OpenAsync(schema, default);
        foreach (var chunk in chunks)
        {
            await sink.WriteAsync(new SinkChunk(chunk), default);
        }

        await sink.CompleteAsync(default);
    }

    private long Count(string table = "facts") =>
        (long)DuckDbQuery.Scalar(Db, $"SELECT count(*) FROM {DuckDbSink.QuoteIdentifier(table)}")!;

    [Fact]
    public async Task A_keyed_table_gets_its_primary_key_and_not_null_columns_and_merges_again_into_it()
    {
        using var batch = TestBatches.AllTypes();
        var keyed = Options(mode: DuckDbWriteMode.Merge) with { Key = ["id"] };
        await LoadAsync(keyed, TestBatches.AllTypesSchema, [batch]);
        await LoadAsync(keyed, TestBatches.AllTypesSchema, [batch]); // the same keys again: replaced, not doubled

        Assert.Equal(
            [["PRIMARY KEY", "id"], ["NOT NULL", "id"]],
            DuckDbQuery.Rows(Db, "SELECT constraint_type, constraint_column_names[1] FROM duckdb_constraints() WHERE table_name = 'facts' ORDER BY constraint_type DESC"));
        Assert.Equal(TestBatches.AllTypesRows.Length, Count());
        using var connection = new DuckDB.NET.Data.DuckDBConnection($"Data Source={Db}");
        connection.Open();
        using var insert = connection.CreateCommand();
        insert.CommandText = "INSERT INTO facts (id) SELECT min(id) FROM facts";
        var duplicate = Assert.ThrowsAny<Exception>(() => insert.ExecuteNonQuery());
        Assert.StartsWith("Constraint Error: Duplicate key \"id: 1\"", duplicate.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_nullable_false_column_is_not_null_in_the_table()
    {
        using var batch = TestBatches.AllTypes();
        await LoadAsync(Options(), TestBatches.AllTypesSchema, [batch]);

        Assert.Equal(
            [["id"]],
            DuckDbQuery.Rows(Db, "SELECT column_name FROM information_schema.columns WHERE table_name = 'facts' AND is_nullable = 'NO'"));
        Assert.Empty(DuckDbQuery.Rows(Db, "SELECT * FROM duckdb_constraints() WHERE table_name = 'facts' AND constraint_type = 'PRIMARY KEY'"));
    }

    [Fact]
    public async Task AllTypes_LoadWithExactValuesAndTypes()
    {
        using var batch = TestBatches.AllTypes();

        await LoadAsync(Options(), TestBatches.AllTypesSchema, [batch]);

        Assert.Equal(TestBatches.AllTypesDuckDb, DuckDbQuery.Describe(Db, "facts"));
        TestBatches.AssertRows(TestBatches.AllTypesRows, DuckDbQuery.Rows(Db, "SELECT * FROM facts ORDER BY id"));
    }

    [Fact]
    public async Task SlicedBatch_LoadsOnlyTheSlice()
    {
        using var batch = TestBatches.AllTypes();
        using var slice = batch.Slice(1, 3);

        await LoadAsync(Options(), TestBatches.AllTypesSchema, [slice]);

        TestBatches.AssertRows(TestBatches.AllTypesRows[1..4], DuckDbQuery.Rows(Db, "SELECT * FROM facts ORDER BY id"));
    }

    [Fact]
    public async Task TwoChunks_RowCountIsTheSum_AndAppendRunsAccumulate()
    {
        using var first = TestBatches.Sequence(0, 3000);
        using var second = TestBatches.Sequence(3000, 1500);
        using var third = TestBatches.Sequence(4500, 7);

        await LoadAsync(Options(), TestBatches.AllTypesSchema, [first, second], [third]);
        Assert.Equal(4507L, Count());

        await LoadAsync(Options(), TestBatches.AllTypesSchema, [third]);
        Assert.Equal(4514L, Count());
    }

    [Fact]
    public async Task DisposeWithoutComplete_AddsNoRows()
    {
        using var batch = TestBatches.AllTypes();
        using var big = TestBatches.Sequence(100, 5000); // more than one appender data chunk, so some rows were flushed
        await LoadAsync(Options(), TestBatches.AllTypesSchema, [batch]);

        await using (var sink = new DuckDbSink(Options()))
        {
            await sink.OpenAsync(TestBatches.AllTypesSchema, default);
            await sink.WriteAsync(new SinkChunk([big, batch]), default);
            Assert.Equal(5005L, sink.RowsWritten);
        }

        Assert.Equal(5L, Count());
    }

    [Fact]
    public async Task DisposeWithoutComplete_DoesNotCreateTheTable()
    {
        using var batch = TestBatches.AllTypes();
        await LoadAsync(Options(table: "other"), TestBatches.AllTypesSchema, [batch]);

        await using (var sink = new DuckDbSink(Options()))
        {
            await sink.OpenAsync(TestBatches.AllTypesSchema, default);
            await sink.WriteAsync(new SinkChunk([batch]), default);
        }

        Assert.Equal(0L, DuckDbQuery.Scalar(Db, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'facts'"));
    }

    [Fact]
    public async Task ReplaceMode_ReplacesTheContent()
    {
        using var batch = TestBatches.AllTypes();
        using var seq = TestBatches.Sequence(1000, 42);
        await LoadAsync(Options(), TestBatches.AllTypesSchema, [batch]);

        await LoadAsync(Options(mode: DuckDbWriteMode.Replace), TestBatches.AllTypesSchema, [seq]);

        Assert.Equal(42L, Count());
        Assert.Equal(1000, DuckDbQuery.Scalar(Db, "SELECT min(id) FROM facts"));
    }

    [Fact]
    public async Task ReplaceMode_DisposedWithoutComplete_KeepsTheOldContent()
    {
        using var batch = TestBatches.AllTypes();
        using var seq = TestBatches.Sequence(1000, 42);
        await LoadAsync(Options(), TestBatches.AllTypesSchema, [batch]);

        await using (var sink = new DuckDbSink(Options(mode: DuckDbWriteMode.Replace)))
        {
            await sink.OpenAsync(TestBatches.AllTypesSchema, default);
            await sink.WriteAsync(new SinkChunk([seq]), default);
        }

        TestBatches.AssertRows(TestBatches.AllTypesRows, DuckDbQuery.Rows(Db, "SELECT * FROM facts ORDER BY id"));
    }

    [Fact]
    public async Task ReplaceMode_RecreatesATableWithAnotherSchema()
    {
        var narrow = new Schema.Builder().Field(new Field("x", StringType.Default, true)).Build();
        using var batch = TestBatches.AllTypes();
        using var x = new RecordBatch(narrow, [new StringArray.Builder().Append("a").Build()], 1);
        await LoadAsync(Options(), narrow, [x]);

        await LoadAsync(Options(mode: DuckDbWriteMode.Replace), TestBatches.AllTypesSchema, [batch]);

        Assert.Equal(TestBatches.AllTypesDuckDb, DuckDbQuery.Describe(Db, "facts"));
        Assert.Equal(5L, Count());
    }

    [Fact]
    public async Task AppendMode_ExistingTableWithOtherType_FailsNamingTableAndColumn()
    {
        using var batch = TestBatches.AllTypes();
        await LoadAsync(Options(), TestBatches.AllTypesSchema, [batch]);
        var changed = new Schema.Builder();
        foreach (var field in TestBatches.AllTypesSchema.FieldsList)
        {
            changed.Field(field.Name == "amount" ? new Field("amount", new Decimal128Type(20, 4), true) : field);
        }

        await using var sink = new DuckDbSink(Options());
        var error = await Assert.ThrowsAsync<TableDriftException>(() => sink.OpenAsync(changed.Build(), default).AsTask());

        Assert.Contains("\"facts\"", error.Message, StringComparison.Ordinal);
        Assert.Contains("column \"amount\" is DECIMAL(18,2) in the table but DECIMAL(20,4) in the data", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AppendMode_ExistingTableWithOtherColumnName_FailsNamingTableAndColumn()
    {
        var ab = new Schema.Builder().Field(new Field("a", Int32Type.Default, true)).Field(new Field("b", Int32Type.Default, true)).Build();
        var ac = new Schema.Builder().Field(new Field("a", Int32Type.Default, true)).Field(new Field("c", Int32Type.Default, true)).Build();
        await LoadAsync(Options(), ab);

        await using var sink = new DuckDbSink(Options());
        var error = await Assert.ThrowsAsync<TableDriftException>(() => sink.OpenAsync(ac, default).AsTask());

        Assert.Contains("DuckDB table \"facts\"", error.Message, StringComparison.Ordinal);
        Assert.Equal($"DuckDB table \"facts\" in {Db} does not match the data: missing from the table: \"c\" INTEGER; extra in the table: \"b\" INTEGER. Use mode=replace to recreate it.", error.Message);
    }

    [Fact]
    public async Task AppendMode_ExistingTableWithFewerColumns_Fails()
    {
        var a = new Schema.Builder().Field(new Field("a", Int32Type.Default, true)).Build();
        var ab = new Schema.Builder().Field(new Field("a", Int32Type.Default, true)).Field(new Field("b", Int32Type.Default, true)).Build();
        await LoadAsync(Options(), a);

        await using var sink = new DuckDbSink(Options());
        var error = await Assert.ThrowsAsync<TableDriftException>(() => sink.OpenAsync(ab, default).AsTask());

        Assert.Contains("missing from the table: \"b\" INTEGER.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Identifiers_WithQuotesAndSpaces_AreQuoted()
    {
        const string table = "my \"odd\" table";
        var schema = new Schema.Builder()
            .Field(new Field("col \"1\"", Int32Type.Default, true))
            .Field(new Field("select", StringType.Default, true))
            .Build();
        using var batch = new RecordBatch(schema,
            [new Int32Array.Builder().Append(7).AppendNull().Build(), new StringArray.Builder().AppendNull().Append("").Build()], 2);

        await LoadAsync(Options(table), schema, [batch]);
        await LoadAsync(Options(table), schema, [batch]);

        Assert.Equal([("col \"1\"", "INTEGER"), ("select", "VARCHAR")], DuckDbQuery.Describe(Db, DuckDbSink.QuoteIdentifier(table)));
        var rows = DuckDbQuery.Rows(Db, $"SELECT * FROM {DuckDbSink.QuoteIdentifier(table)} ORDER BY 1 NULLS LAST");
        Assert.Equal(4, rows.Count);
        Assert.Equal([7, null], rows[0]);
        Assert.Equal([null, ""], rows[3]);
    }

    [Fact]
    public async Task EmptyStringsOnly_AreEmptyNotNull()
    {
        var schema = new Schema.Builder().Field(new Field("s", StringType.Default, true)).Build();
        using var batch = new RecordBatch(schema, [new StringArray.Builder().Append("").Append("").AppendNull().Build()], 3);

        await LoadAsync(Options(), schema, [batch]);

        Assert.Equal(2L, DuckDbQuery.Scalar(Db, "SELECT count(*) FROM facts WHERE s = ''"));
        Assert.Equal(1L, DuckDbQuery.Scalar(Db, "SELECT count(*) FROM facts WHERE s IS NULL"));
    }
}
