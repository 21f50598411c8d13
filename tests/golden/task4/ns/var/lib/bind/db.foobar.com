; Zone foobar.com of the lab: rendered by infractl from the stack's records.
$ORIGIN foobar.com.
$TTL 300
@   IN SOA ns.foobar.com. hostmaster.foobar.com. (
        142522847 ; serial (changes with the records)
        3600       ; refresh
        600        ; retry
        86400      ; expire
        60 )       ; negative answers
    IN NS  ns.foobar.com.
    IN NS  ns-02.foobar.com.
ns  IN A   10.104.0.2
ns-02  IN A   10.104.0.3
@  IN A  10.104.0.100
www  IN A  10.104.0.100
lb-01  IN A  10.104.0.10
lb-02  IN A  10.104.0.11
blog  IN CNAME  www
@  IN MX  10 mail
mail  IN A  10.104.0.2
@  IN TXT  "v=spf1 mx -all"
