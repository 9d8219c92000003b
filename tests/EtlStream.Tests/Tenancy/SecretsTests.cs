using EtlStream.Tenancy;

namespace EtlStream.Tests.Tenancy;

public sealed class SecretsTests
{
    [Theory]
    [InlineData("refused postgres://loader:pw@x:1@db.example:5432/d?table=t", "refused postgres://loader:***@db.example:5432/d?table=t")]
    [InlineData("mysql://u:p%40ss@h/d and clickhouse://etl@h:8123/d", "mysql://u:***@h/d and clickhouse://etl@h:8123/d")]
    [InlineData("ClickHouse at http://127.0.0.1:8123/ answered 500", "ClickHouse at http://127.0.0.1:8123/ answered 500")]
    public void Redact_ScrubsTheUrlPasswordOfAnyUrl_KnownOrNot(string text, string expected) =>
        Assert.Equal(expected, EtlStream.Security.Redaction.Redact(text));

    [Fact]
    public void Redact_ScrubsAProtectedValueWhereverItIsEchoed_AndALongerOneWhole()
    {
        var secret = "pw-" + Guid.NewGuid().ToString("N");
        EtlStream.Security.Redaction.Protect(secret);
        EtlStream.Security.Redaction.Protect(secret + "-longer");

        Assert.Equal("proxy said: bad password *** for ***, ***", EtlStream.Security.Redaction.Redact($"proxy said: bad password {secret} for {secret}-longer, {Uri.EscapeDataString(secret)}"));
    }
}
