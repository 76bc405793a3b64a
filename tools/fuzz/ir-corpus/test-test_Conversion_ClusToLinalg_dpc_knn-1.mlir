func.func @dpc_knn_bf16_dynamic_default_k(%x: tensor<?x?x?xbf16>) -> (tensor<?x1x?xi32>, tensor<?x1x8xi32>) {
  %a, %c = clus.dpc_knn %x clusters = [8] : tensor<?x?x?xbf16>
  return %a, %c : tensor<?x1x?xi32>, tensor<?x1x8xi32>
}
