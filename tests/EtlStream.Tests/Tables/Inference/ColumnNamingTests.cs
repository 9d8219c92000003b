using EtlStream.Tables.Inference;

namespace EtlStream.Tests.Tables.Inference;

public sealed class ColumnNamingTests
{
    [Fact]
    public void Headers_become_snake_case_with_source_where_the_header_differs()
    {
        Assert.Equal(
            [("cost_total", "Cost Total $"), ("order_id", "Order ID"), ("customer_id", "customerId"), ("http_server", "HTTPServer"), ("zip", null), ("address2_line", "Address2Line")],
            ColumnNaming.For(["Cost Total $", "Order ID", "customerId", "HTTPServer", "zip", "Address2Line"], nestedPaths: false));
    }

    [Fact]
    public void Collisions_get_a_number_and_keep_their_own_source()
    {
        // "Cost Total" and "cost_total" both snake to cost_total; "ID" and "id" are one name to the load, which makes the second id_2.
        Assert.Equal(
            [("cost_total", "Cost Total"), ("cost_total_2", "cost_total"), ("id", "ID"), ("id_2", null)],
            ColumnNaming.For(["Cost Total", "cost_total", "ID", "id"], nestedPaths: false));
    }

    [Fact]
    public void Empty_symbolic_and_numeric_headers_get_usable_names()
    {
        Assert.Equal(
            [("column1", null), ("column2", "$$"), ("c_2024", "2024"), ("x", null)],
            ColumnNaming.For(["", "$$", "2024", " x "], nestedPaths: false));
    }

    [Fact]
    public void Nested_paths_are_flattened_with_two_underscores_and_csv_dots_are_not()
    {
        Assert.Equal([("dealer__code", "dealer.code")], ColumnNaming.For(["dealer.code"], nestedPaths: true));
        Assert.Equal([("dealer_code", "dealer.code")], ColumnNaming.For(["dealer.code"], nestedPaths: false));
    }

    [Fact]
    public void Names_are_at_most_63_characters_even_with_a_suffix()
    {
        var names = ColumnNaming.For([new string('a', 70), new string('a', 64)], nestedPaths: false);

        Assert.Equal([new string('a', 63), new string('a', 61) + "_2"], names.Select(n => n.Name));
    }
}
